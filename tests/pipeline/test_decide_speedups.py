"""What makes decide fast changes nothing it answers: quick constructors, per-policy route plans."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from tests.builders import lead, policy, rep, route, snapshot

from leadrelay.domain import Candidate, Caps, Decision, RouteTrial, Status
from leadrelay.domain.quick import quick_constructor, quick_replace
from leadrelay.pipeline.decide import decide
from leadrelay.pipeline.eligibility import exclusion


def test_quick_candidate_is_a_plain_equal_frozen_candidate() -> None:
    quick = quick_constructor(Candidate)

    made = quick("ana", None, 2.0, note="next in rotation")

    assert type(made) is Candidate
    assert made == Candidate("ana", None, 2.0, note="next in rotation")
    assert repr(made) == repr(Candidate("ana", None, 2.0, note="next in rotation"))
    assert pickle.loads(pickle.dumps(made)) == made
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.note = "changed"  # type: ignore[misc]


def test_quick_candidate_gets_its_own_factors_dict() -> None:
    quick = quick_constructor(Candidate)

    first, second = quick("ana"), quick("bo")

    assert first.factors == {} and first.factors is not second.factors


def test_quick_constructor_refuses_what_it_cannot_copy() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        x: int

    with pytest.raises(TypeError):
        quick_constructor(NoSlots)


def test_decisions_and_leads_pickle_positionally_and_load_equal() -> None:
    pol = policy(
        route("never", when='country == "ZZ"', reps=["ana"]),
        route("all", reps=["ana", "bo"]),
    )
    one = lead(country="US", attributes={"plan": "pro"})
    decision = decide(one, snapshot([rep("ana", active=False), rep("bo")]), pol)
    assert decision.trials[1].candidates  # a trace to carry

    loaded_decision, loaded_lead = pickle.loads(pickle.dumps((decision, one), protocol=5))

    assert loaded_decision == decision and type(loaded_decision) is Decision
    assert loaded_lead == one
    assert loaded_decision.trials[1].candidates[0].excluded == "inactive"
    # sent as the quick twin and its field values, not a dict of state per object
    assert type(decision).__reduce__(decision)[0] is quick_constructor(Decision)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded_decision.trials[0].route = "changed"  # type: ignore[misc]


def test_route_naming_teams_follows_the_snapshot_in_hand() -> None:
    # one policy object, two snapshots with different rosters: the remembered plan must not leak
    pol = policy(route("all", team="sdr"))
    first = snapshot([rep("ana", teams=["sdr"]), rep("bo", teams=["sdr"])])
    second = snapshot([rep("chen", teams=["sdr"])])

    one, two = decide(lead(), first, pol), decide(lead(), second, pol)

    assert [c.rep for c in one.trials[0].candidates] == ["ana", "bo"]
    assert [c.rep for c in two.trials[0].candidates] == ["chen"]
    assert two.owner == "chen"


def test_unmatched_route_trials_equal_fresh_ones() -> None:
    pol = policy(route("never", when='country == "ZZ"', reps=["ana"]), route("all", reps=["ana"]))

    decision = decide(lead(country="US"), snapshot([rep("ana")]), pol)

    assert decision.trials[0] == RouteTrial("never", False, "condition does not hold")
    assert Decision.from_dict(decision.to_dict()) == decision
    assert decision.status is Status.ASSIGNED


def test_exclusion_still_answers_for_one_rep() -> None:
    snap = snapshot([rep("ana", active=False), rep("bo")])

    assert exclusion(snap.reps["ana"], snap, Caps()) == "inactive"
    assert exclusion(snap.reps["bo"], snap, Caps()) is None
    assert exclusion(snap.reps["bo"], snap, Caps(per_day=0)) == "at daily cap (0/0)"


def test_quick_replace_equals_dataclasses_replace() -> None:
    pol = policy(route("all", reps=["ana", "bo"]))
    decision = decide(lead(country="US"), snapshot([rep("ana"), rep("bo")]), pol)
    assert decision.trials

    for changes in ({"trials": ()}, {"owner": "bo", "rotation": "all#merit"}, {}):
        quick = quick_replace(decision, **changes)
        assert quick == dataclasses.replace(decision, **changes)
        assert type(quick) is Decision and quick is not decision
    assert decision.trials  # the original is left as it was
    with pytest.raises(TypeError, match="no field 'owners'"):
        quick_replace(decision, owners="bo")
