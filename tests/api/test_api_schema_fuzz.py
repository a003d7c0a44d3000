"""Schemathesis against the OpenAPI schema: whatever a client sends, never a 5xx, and every
answer as the schema describes it.

Every operation gets generated requests, valid ones and invalid ones (schemathesis's positive
and negative modes), with an admin key, on a store holding the test org and policy: over 2,000
requests in all. Each response is validated by schemathesis's checks: not a server error, a
documented status code and content type, and a body that conforms to the response schema. A
failure names the request. (Schemathesis's own pytest plugin does not run on pytest 9 yet, so
its strategies are driven with hypothesis directly.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api.conftest import seed

from leadrelay.api import create_app
from leadrelay.store import open_store

EXAMPLES = 40  # at most, per operation and mode; small input spaces run out sooner
TOTAL = 2_000  # requests over all operations and both modes, at least
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
sent: dict[str, int] = {}


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_no_request_makes_the_server_fail_or_break_the_schema(
    tmp_path: Path, mode: GenerationMode
) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'leadrelay.db'}")
    headers = {"Authorization": f"Bearer {seed(engine)['admin']}"}
    app = create_app(engine=engine)
    failures: set[str] = set()
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 16
        for operation in operations:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                response = case.call(headers=headers)
                sent[mode.value] = sent.get(mode.value, 0) + 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except FailureGroup as group:
                    for failure in group.exceptions:
                        failures.add(f"{case.method} {case.path}: {failure.title}"
                                     f" ({response.status_code})")  # fmt: skip

            run()
    engine.dispose()
    assert sorted(failures) == [], "\n".join(sorted(failures))


@pytest.mark.slow
def test_the_fuzzing_sent_enough_requests() -> None:
    """Runs after both modes (file order): together they sent at least ``TOTAL`` requests."""
    if len(sent) < len(GenerationMode):
        pytest.skip("run with the fuzzing tests above (not alone, not split across workers)")
    assert sum(sent.values()) >= TOTAL, sent
