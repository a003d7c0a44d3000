"""A model trained once per session on the synthetic outcomes (training takes about a second)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.scoring.score_data import synthetic_csv

from leadrelay.scoring import LeadModel, save_model, train_model

TRAINED_AT = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scoring")


@pytest.fixture(scope="session")
def synthetic_model(model_dir: Path) -> LeadModel:
    """Trained on 800 synthetic leads, saved as ``lead.model`` in ``model_dir``."""
    training = train_model(synthetic_csv(model_dir / "outcomes.csv"), now=TRAINED_AT)
    return save_model(training.model, model_dir / "lead.model")
