"""The ``sla`` key of a route: typed, checked against the route, errors at the YAML line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadrelay.errors import PolicyError, Problem
from leadrelay.policy import load_policy_text

REPS = ["ana", "bo", "max"]
TEAMS = ["sdr", "ent"]


def problems(text: str) -> list[tuple[str, str | None, int | None]]:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, "p.yaml", reps=REPS, teams=TEAMS)
    found: tuple[Problem, ...] = caught.value.problems
    return [(p.message, p.field, p.line) for p in found]


def test_the_design_example_pool_sla_compiles_to_a_fallback_route() -> None:
    policy = load_policy_text(
        "routes:\n"
        "  - name: inbound-pool\n"
        "    to: {pool: inbound}\n"
        "    strategy: claim\n"
        "    sla: {claim_within: 2h, then: {team: sdr, strategy: round_robin}}\n",
        reps=REPS, teams=TEAMS,
    )  # fmt: skip
    sla = policy.routes[0].sla
    assert sla is not None
    assert sla.deadlines == (("claim", timedelta(hours=2)),)
    assert (sla.action, sla.business_hours, sla.escalate_to) == ("route", True, "team_owner")
    assert sla.fallback is not None
    assert (sla.fallback.name, sla.fallback.target.team, sla.fallback.strategy) == (
        "inbound-pool:then", "sdr", "round_robin",
    )  # fmt: skip


def test_every_deadline_and_option() -> None:
    policy = load_policy_text(
        "routes:\n"
        "  - name: r\n"
        "    to: {reps: [ana, bo]}\n"
        "    sla: {accept_within: 30m, contact_within: 1d4h, business_hours: false,\n"
        "          then: manual, escalate_to: max}\n",
        reps=REPS, teams=TEAMS,
    )  # fmt: skip
    sla = policy.routes[0].sla
    assert sla is not None
    assert sla.within("accept") == timedelta(minutes=30)
    assert sla.within("contact") == timedelta(days=1, hours=4)
    assert (sla.action, sla.business_hours, sla.escalate_to) == ("manual", False, "max")


@pytest.mark.parametrize(
    ("sla", "message", "field"),
    [
        ("{accept_within: 2x}", "cannot read duration '2x'", "routes[0].sla.accept_within"),
        ("{accept_within: 30}", "write a duration like 30m", "routes[0].sla.accept_within"),
        ("{accept_within: 0m}", "is zero", "routes[0].sla.accept_within"),
        ("{business_hours: true}", "give at least one deadline", "routes[0].sla"),
        ("{claim_within: 1h}", "claim_within applies to 'claim' routes",
         "routes[0].sla.claim_within"),
        ("{handoff_within: 1h}", "handoff_within applies to 'team' routes",
         "routes[0].sla.handoff_within"),
        ("{accept_within: 1h, escalate_to: zed}", "unknown rep 'zed'", "routes[0].sla.escalate_to"),
        ("{accept_within: 1h, then: {team: nope}}", "unknown team 'nope'",
         "routes[0].sla.then.team"),
        ("{accept_within: 1h, then: {strategy: shuffle}}", "unknown strategy 'shuffle'",
         "routes[0].sla.then.strategy.name"),
        ("{accept_within: 1h, then: later}", "write reassign, manual, or a target",
         "routes[0].sla.then"),
        ("{accept_within: 1h, within: 2h}", "unknown key 'within'", "routes[0].sla.within"),
    ],
)  # fmt: skip
def test_a_bad_sla_is_reported_at_its_line(sla: str, message: str, field: str) -> None:
    text = f"routes:\n  - name: r\n    to: {{reps: [ana]}}\n    sla: {sla}\n"
    found = problems(text)
    assert len(found) == 1, found
    got_message, got_field, line = found[0]
    assert message in got_message and got_field == field and line == 4
