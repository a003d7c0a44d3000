"""Schemathesis against the OpenAPI schema: whatever a client sends, never a 5xx.

Every operation gets generated requests, valid ones and invalid ones (schemathesis's positive
and negative modes), with an admin key, on a store holding the test org and policy. A 5xx
fails the test and names the request. (Schemathesis's own pytest plugin does not run on
pytest 9 yet, so its strategies are driven with hypothesis directly.)
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
from tests.api.conftest import seed

from leadrelay.api import create_app
from leadrelay.store import open_store

EXAMPLES = 25  # per operation and mode: 2 x 16 operations x 25 requests


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_no_request_makes_the_server_fail(tmp_path: Path, mode: GenerationMode) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'leadrelay.db'}")
    headers = {"Authorization": f"Bearer {seed(engine)['admin']}"}
    app = create_app(engine=engine)
    failures: list[str] = []
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
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path}: "
                                    f"{response.status_code} {response.text[:200]}")  # fmt: skip
                not_a_server_error  # noqa: B018 - the check this test stands for

            run()
    engine.dispose()
    assert failures == []
