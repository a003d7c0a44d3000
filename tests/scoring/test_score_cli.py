"""``leadrelay score train``: the summary a user reads, the file the policy loads, exit 2."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_support import ok, run, words
from tests.scoring.score_data import SYNTHETIC_HEADER, synthetic_csv, synthetic_rows, write_csv

from leadrelay.scoring import load_model


def test_score_train_prints_the_summary_and_saves_a_loadable_model(tmp_path: Path) -> None:
    outcomes = synthetic_csv(tmp_path / "outcomes.csv", count=400)
    model = tmp_path / "lead.model"

    result = ok("score", "train", outcomes, "--out", model, "--seed", "3")
    text = words(result.stdout)

    loaded = load_model(model)
    assert f"AUC {loaded.info.auc:.3f}" in text
    assert f"Brier {loaded.info.brier:.4f}" in text
    assert "400 leads with an outcome in 'won'" in text
    assert "features used: employees, industry, source" in text
    assert "won_value" in text
    assert "gives the outcome away" in text
    assert "calibration on held-out leads" in text
    assert f"saved {model}" in text
    assert loaded.info.seed == 3


def test_score_train_options_reach_the_training(tmp_path: Path) -> None:
    header = [*SYNTHETIC_HEADER[:-1], "deal_result"]
    outcomes = write_csv(tmp_path / "o.csv", header, synthetic_rows(300))
    model = tmp_path / "m.model"

    ok("score", "train", outcomes, "--out", model, "--target", "deal_result",
       "--test-size", "0.4", "--drop", "source")  # fmt: skip

    info = load_model(model).info
    assert (info.target, info.test_size, info.rows_test) == ("deal_result", 0.4, 120)
    assert "source" not in info.features


def test_score_train_bad_outcome_exits_2_naming_row_and_column(tmp_path: Path) -> None:
    rows = synthetic_rows(100)
    rows[2][-1] = "perhaps"
    outcomes = write_csv(tmp_path / "bad.csv", SYNTHETIC_HEADER, rows)
    model = tmp_path / "m.model"

    result = run("score", "train", outcomes, "--out", model)

    assert result.exit_code == 2
    assert f"{outcomes} row 4: won: 'perhaps' is not an outcome" in result.stderr
    assert not model.exists()
