"""``screening.score_model`` in a policy: loaded once, scored before every condition, explained."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from tests.builders import lead, rep, snapshot

from leadrelay.domain import Status
from leadrelay.errors import PolicyError
from leadrelay.pipeline.decide import decide
from leadrelay.policy import load_policy, load_policy_text
from leadrelay.scoring import LeadModel

POLICY = """\
screening:
  score_model: {{path: {path}}}
  reject:
    - {{name: hopeless, when: 'model_score < 0.02'}}
  priority: {{high: 'model_score >= 0.6'}}
routes:
  - {{name: hot, when: 'priority == "high"', to: {{reps: [ana]}}}}
  - {{name: rest, to: {{reps: [bo]}}}}
"""
HOT = {"industry": "saas", "source": "referral", "employees": 5000}
COLD = {"industry": "retail", "source": "web", "employees": 30}


def _policy(model_dir: Path, path: str = "lead.model") -> Path:
    policy = model_dir / "policy.yaml"
    policy.write_text(POLICY.format(path=path), encoding="utf-8")
    return policy


def test_model_score_in_priority_routes_leads_differently(
    synthetic_model: LeadModel, model_dir: Path
) -> None:
    policy = load_policy(_policy(model_dir))
    snap = snapshot([rep("ana"), rep("bo")])

    hot = decide(lead(external_id="h", **HOT), snap, policy)
    cold = decide(lead(external_id="c", **COLD), snap, policy)

    assert synthetic_model.probability(HOT) >= 0.6 > synthetic_model.probability(COLD)
    assert (hot.owner, hot.route, hot.screening.priority) == ("ana", "hot", "high")
    assert (cold.owner, cold.route, cold.screening.priority) == ("bo", "rest", "low")


def test_the_decision_records_the_model_score_as_a_screening_step(
    synthetic_model: LeadModel, model_dir: Path
) -> None:
    policy = load_policy(_policy(model_dir))
    decision = decide(lead(external_id="h", **HOT), snapshot([rep("ana")]), policy)

    step = decision.screening.steps[0]
    assert (step.rule, step.kind, step.matched) == ("model_score", "model", True)
    probability = synthetic_model.probability(HOT)
    assert step.note.startswith(f"{probability:.4f} from lead.model (AUC ")
    assert synthetic_model.info.digest[:12] in step.note


def test_the_same_lead_always_gets_the_same_decision(model_dir: Path) -> None:
    policy = load_policy(_policy(model_dir))
    reloaded = load_policy(_policy(model_dir))
    one = lead(external_id="same", **HOT)

    first = decide(one, snapshot([rep("ana"), rep("bo")]), policy)
    assert decide(one, snapshot([rep("ana"), rep("bo")]), policy) == first
    assert decide(one, snapshot([rep("ana"), rep("bo")]), reloaded) == first
    # simulation workers get the policy pickled
    copied = pickle.loads(pickle.dumps(policy))
    assert decide(one, snapshot([rep("ana"), rep("bo")]), copied) == first


def test_model_score_can_screen_leads_out(model_dir: Path) -> None:
    text = POLICY.format(path=model_dir / "lead.model").replace("< 0.02", "< 0.99")
    policy = load_policy_text(text)

    decision = decide(lead(**COLD), snapshot([rep("ana")]), policy)
    assert decision.status is Status.SCREENED_OUT
    assert decision.screening.steps[0].kind == "model"


def test_a_relative_model_path_is_taken_from_the_policy_files_folder(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no lead.model here

    assert load_policy(_policy(model_dir)).score_model is not None
    with pytest.raises(PolicyError, match=r"screening\.score_model\.path"):
        load_policy_text(POLICY.format(path="lead.model"))
    monkeypatch.chdir(model_dir)
    assert load_policy_text(POLICY.format(path="lead.model")).score_model is not None


def test_a_missing_model_file_is_a_policy_error_naming_the_key(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "models/nope.model")

    with pytest.raises(PolicyError) as caught:
        load_policy(policy)
    (problem,) = caught.value.problems
    assert problem.field == "screening.score_model.path"
    assert problem.line == 2
    assert "nope.model" in problem.message
    assert "cannot read the model file" in problem.message


def test_a_file_that_is_not_a_model_is_a_policy_error(tmp_path: Path) -> None:
    (tmp_path / "fake.model").write_text("hello", encoding="utf-8")

    with pytest.raises(PolicyError, match="not a leadrelay model file") as caught:
        load_policy(_policy(tmp_path, "fake.model"))
    assert caught.value.problems[0].field == "screening.score_model.path"


def test_the_score_field_is_known_to_conditions_only_with_a_model(model_dir: Path) -> None:
    without = POLICY.replace("  score_model: {{path: {path}}}\n", "").format()
    with pytest.raises(PolicyError, match="unknown field 'model_score'"):
        load_policy_text(without)
    typo = POLICY.format(path=model_dir / "lead.model").replace(">= 0.6", "and model_scor > 1")
    with pytest.raises(PolicyError, match="unknown field 'model_scor'") as caught:
        load_policy_text(typo)
    assert caught.value.problems[0].suggestion == "model_score"


def test_the_score_field_can_be_renamed_but_not_onto_another_field(model_dir: Path) -> None:
    path = model_dir / "lead.model"
    renamed = POLICY.format(path=f"{path}, field: fit").replace("model_score", "fit")
    policy = load_policy_text(renamed)
    assert policy.score_field == "fit"
    decision = decide(lead(**HOT), snapshot([rep("ana")]), policy)
    assert decision.screening.steps[0].rule == "fit"

    clash = POLICY.format(path=f"{path}, field: score").replace("model_score", "score")
    with pytest.raises(PolicyError, match="'score' is already a lead or screening field"):
        load_policy_text(clash)


def test_a_broken_score_model_entry_reports_only_itself(model_dir: Path) -> None:
    text = POLICY.format(path=model_dir / "lead.model").replace("path:", "pth:")

    with pytest.raises(PolicyError) as caught:
        load_policy_text(text)
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 2, messages  # unknown key pth, missing key path
    assert all("screening.score_model" in m for m in messages)


def test_without_a_model_screening_adds_no_step(model_dir: Path) -> None:
    text = "routes:\n  - {name: all, to: {reps: [ana]}}\n"
    policy = load_policy_text(text)

    assert policy.score_model is None
    decision = decide(lead(**HOT), snapshot([rep("ana")]), policy)
    assert all(step.kind != "model" for step in decision.screening.steps)
