"""Experiment reports: per-arm counts and rates, Wilson intervals, the z-test and its verdicts."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from tests.builders import NOON, lead
from tests.cli.cli_support import plain, run

from leadrelay.analytics.experiment import (
    BETTER,
    NO_DIFFERENCE,
    TOO_SMALL,
    experiment_report,
    wilson,
)
from leadrelay.api import create_app
from leadrelay.domain import Rep
from leadrelay.policy import load_policy_text
from leadrelay.store import activate, open_store, save_policy, save_reps
from leadrelay.store.experiments import ArmFacts
from leadrelay.store.keys import create_key
from leadrelay.store.outcomes import record_outcome
from leadrelay.workflow import route_many

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal


def _facts(arm: str, leads: int, won: int, lost: int, contacted: int = 0) -> list[ArmFacts]:
    """``leads`` facts: the first ``won`` won, the next ``lost`` lost, then ``contacted`` only."""
    out = []
    for i in range(leads):
        out.append(
            ArmFacts(
                lead_id=i,
                arm=arm,
                contacted=i < won + lost + contacted,
                qualified=False,
                won=i < won,
                lost=won <= i < won + lost,
            )
        )
    return out


def _wilson_by_hand(x: int, n: int) -> tuple[float, float]:
    p = x / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return centre - half, centre + half


def _z_test_by_hand(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    pooled = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return z, math.erfc(abs(z) / math.sqrt(2))  # two-sided normal tail


def test_report_counts_rates_intervals_and_p_values_on_known_arms() -> None:
    facts = _facts("control", 400, won=40, lost=160, contacted=100) + _facts(
        "challenger", 400, won=70, lost=130, contacted=100
    )
    report = experiment_report("pilot", facts)

    control, challenger = report.control, report.challenger
    assert (control.leads, control.contacted, control.converted, control.won, control.lost) == (
        400, 300, 40, 40, 160,
    )  # fmt: skip
    assert (challenger.won, challenger.lost, challenger.contacted) == (70, 130, 300)
    assert control.win.rate == pytest.approx(40 / 200)
    assert challenger.conversion.rate == pytest.approx(70 / 400)
    low, high = _wilson_by_hand(70, 200)
    assert (challenger.win.low, challenger.win.high) == (pytest.approx(low), pytest.approx(high))

    by_metric = {c.metric: c for c in report.comparisons}
    z, p = _z_test_by_hand(40, 200, 70, 200)
    win = by_metric["win"]
    assert win.z == pytest.approx(z) and win.p_value == pytest.approx(p)
    assert p < 0.05 and win.verdict == BETTER
    assert win.difference == pytest.approx(0.35 - 0.20)
    contact = by_metric["contact"]  # 300 of 400 in both arms
    assert contact.z == pytest.approx(0.0) and contact.verdict == NO_DIFFERENCE


def test_a_small_experiment_is_too_small_to_conclude_and_says_how_many_are_needed() -> None:
    facts = _facts("control", 30, won=3, lost=10) + _facts("challenger", 30, won=9, lost=4)
    report = experiment_report("tiny", facts)
    verdicts = {c.metric: c.verdict for c in report.comparisons}
    # 13 closed per arm, 3 and 9 won: under 10 expected wins per arm at the pooled 46%
    assert verdicts["win"] == verdicts["conversion"] == TOO_SMALL
    # contacted 13 of 30 in both arms: 13 expected successes and 17 failures each is enough
    assert verdicts["contact"] == NO_DIFFERENCE
    win = next(c for c in report.comparisons if c.metric == "win")
    assert "per arm are needed" in win.note
    assert win.p_value is not None  # still computed and shown, just not trusted


def test_an_arm_with_no_leads_is_too_small_and_has_no_rates() -> None:
    report = experiment_report("empty", _facts("control", 50, won=20, lost=20))
    assert report.challenger.leads == 0 and report.challenger.win.rate is None
    assert {c.verdict for c in report.comparisons} == {TOO_SMALL}
    json.dumps(report.as_dict())  # JSON-ready


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_contains_the_rate_and_stays_in_0_1(x: int, n: int) -> None:
    x = min(x, n)
    rate = wilson(x, n)
    assert rate.low is not None and rate.high is not None and rate.rate is not None
    assert 0.0 <= rate.low <= rate.rate <= rate.high <= 1.0
    low, high = _wilson_by_hand(x, n)
    assert rate.low == pytest.approx(max(low, 0.0), abs=1e-12)
    assert rate.high == pytest.approx(min(high, 1.0), abs=1e-12)


# --- from the store: CLI and API ------------------------------------------------------------

POLICY = """\
version: 1
routes:
  - {name: all, to: {reps: [ana, bo]}, strategy: round_robin}
experiments:
  - {name: pilot, share: 0.5, route: {to: {reps: [cy]}, strategy: criteria}}
"""


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    """60 leads routed with a 50% experiment; every challenger lead and every third control
    lead won, the rest lost."""
    engine = open_store(sqlite_url)
    with engine.begin() as conn:
        save_reps(conn, [Rep(r) for r in ("ana", "bo", "cy")])
        compiled = load_policy_text(POLICY, reps={"ana", "bo", "cy"})
        activate(conn, save_policy(conn, compiled))
    batch = [lead(external_id=f"E{i}", received_at=NOON + timedelta(minutes=i)) for i in range(60)]
    results = route_many(engine, batch, compiled)
    with engine.begin() as conn:
        for n, result in enumerate(results):
            assert result.lead_id is not None
            won = result.decision.arm == "challenger" or n % 3 == 0
            at = NOON + timedelta(days=1)
            record_outcome(conn, result.lead_id, "won" if won else "lost", at)
    yield engine
    engine.dispose()


def _expected_arms(engine: Engine) -> dict[str, tuple[int, int]]:
    """(leads, won) per arm, counted straight from the tables."""
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT l.arm, count(*), sum(e.kind = 'won') FROM leads l JOIN events e"
                " ON e.lead_id = l.id AND e.kind IN ('won', 'lost') GROUP BY l.arm"
            )
        ).all()
    return {arm: (int(n), int(won)) for arm, n, won in rows}


def test_cli_report_from_the_store_matches_the_stored_arms(store: Engine, sqlite_url: str) -> None:
    expected = _expected_arms(store)
    assert set(expected) == {"control", "challenger"}

    result = run("experiment", "report", "pilot", "--json", db=sqlite_url)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    arms = {a["arm"]: a for a in data["arms"]}
    for arm, (n, won) in expected.items():
        assert arms[arm]["leads"] == n and arms[arm]["won"] == won
        assert arms[arm]["win_rate"]["rate"] == pytest.approx(won / n)

    table = plain(run("experiment", "report", "pilot", db=sqlite_url).stdout)
    assert "challenger" in table and "verdict" in table


def test_cli_unknown_experiment_exits_2_and_lists_the_known_ones(
    store: Engine, sqlite_url: str
) -> None:
    result = run("experiment", "report", "pilto", db=sqlite_url)
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "no experiment 'pilto'" in message and "known experiments: pilot" in message
    assert "did you mean 'pilot'" in message


def test_api_experiment_report_for_managers_only(store: Engine) -> None:
    with store.begin() as conn:
        manager = create_key(conn, "manager")[1]
        rep = create_key(conn, "rep", rep_id="ana")[1]
    with TestClient(create_app(engine=store)) as client:
        # the router is mounted by app.py; until then, mount it here
        if not any(getattr(r, "path", "") == "/v1/experiments/{name}" for r in client.app.routes):
            from leadrelay.api import experiments

            client.app.include_router(experiments.router, prefix="/v1")  # type: ignore[attr-defined]
        got = client.get("/v1/experiments/pilot", headers={"X-API-Key": manager})
        assert got.status_code == 200
        assert {a["arm"] for a in got.json()["arms"]} == {"control", "challenger"}
        assert client.get("/v1/experiments/pilot", headers={"X-API-Key": rep}).status_code == 403
        missing = client.get("/v1/experiments/nope", headers={"X-API-Key": manager})
        assert missing.status_code == 404 and "known experiments: pilot" in missing.json()["detail"]
