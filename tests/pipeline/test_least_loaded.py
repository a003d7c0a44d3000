"""Least loaded: open leads divided by capacity, lowest first."""

from __future__ import annotations

from tests.builders import NOON, lead, policy, rep, route, snapshot

from leadrelay.domain import Caps
from leadrelay.pipeline.decide import decide


def _open(snap, **open_leads: int) -> None:
    snap.open_leads.update(open_leads)


def test_least_loaded_divides_open_leads_by_cap() -> None:
    # ana has more open leads but far more room: 10/50 = 0.2 against bo's 4/10 = 0.4.
    snap = snapshot([rep("ana", caps={"per_month": 50}), rep("bo", caps={"per_month": 10})])
    _open(snap, ana=10, bo=4)

    decision = decide(lead(), snap, policy(route("r", "least_loaded", reps=["ana", "bo"])))

    assert decision.owner == "ana"
    assert decision.reason == "least loaded: ana had the lowest load (10 open / monthly cap 50)"
    ana, bo = decision.trials[0].candidates
    assert (ana.score, bo.score) == (0.2, 0.4)


def test_least_loaded_uses_the_widest_cap_the_rep_has() -> None:
    snap = snapshot(
        [
            rep("ana", caps={"per_day": 1, "per_week": 40}),
            rep("bo", caps={"per_day": 5}),
        ]
    )
    _open(snap, ana=8, bo=2)

    decision = decide(lead(), snap, policy(route("r", "least_loaded", reps=["ana", "bo"])))

    ana, bo = decision.trials[0].candidates
    assert ana.note == "8 open / weekly cap 40"
    assert bo.note == "2 open / daily cap 5"
    assert decision.owner == "ana"


def test_least_loaded_falls_back_to_policy_default_caps() -> None:
    snap = snapshot([rep("ana"), rep("bo", caps={"per_month": 100})])
    _open(snap, ana=5, bo=20)
    pol = policy(route("r", "least_loaded", reps=["ana", "bo"]), default_caps=Caps(per_month=20))

    decision = decide(lead(), snap, pol)

    assert decision.owner == "bo"
    assert decision.trials[0].candidates[0].note == "5 open / monthly cap 20"


def test_least_loaded_divides_by_weight_when_uncapped() -> None:
    snap = snapshot([rep("ana", weight=1), rep("bo", weight=4)])
    _open(snap, ana=2, bo=6)

    decision = decide(lead(), snap, policy(route("r", "least_loaded", reps=["ana", "bo"])))

    assert decision.owner == "bo"
    assert decision.trials[0].candidates[1].note == "6 open / weight 4"


def test_least_loaded_ties_rotate_by_round_robin() -> None:
    snap = snapshot([rep("ana"), rep("bo")])
    pol = policy(route("r", "least_loaded", reps=["ana", "bo"]))
    snap.record("r", "ana", NOON)
    snap.open_leads["ana"] = 0  # ana's lead was closed: same load, but given more recently

    decision = decide(lead(), snap, pol)

    assert decision.owner == "bo"


def test_least_loaded_ignores_ineligible_reps_however_idle() -> None:
    snap = snapshot([rep("ana", active=False), rep("bo")])
    _open(snap, bo=30)

    decision = decide(lead(), snap, policy(route("r", "least_loaded", reps=["ana", "bo"])))

    assert decision.owner == "bo"
    assert decision.trials[0].candidates[0].excluded == "inactive"
