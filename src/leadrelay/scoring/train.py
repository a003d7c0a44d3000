"""Fit a calibrated lead model on historical outcomes and measure it on held-out leads.

The model: numbers imputed with their median (plus a missing-indicator, since a blank field can
itself be telling) and standardised; categories one-hot encoded, rare ones (fewer than
``MIN_FREQUENCY`` rows) pooled; a logistic regression, its probabilities calibrated by a sigmoid
fitted on cross-validated predictions (``CalibratedClassifierCV``). Logistic, because it is
robust on the few hundred rows a sales team has, explainable, and scores a lead in microseconds
(see ``fast.py``). Everything is seeded: the same file, options and scikit-learn version give the
same model, byte for byte.

The numbers describe exactly the saved model: it is fitted on the training part of the split
only and measured on the held-out part.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from leadrelay.errors import InputFileError, Problem
from leadrelay.scoring.dataset import Dataset, read_dataset
from leadrelay.scoring.model import CalibrationBin, LeadModel, ModelInfo

MIN_FREQUENCY = 5  # a category seen in fewer training rows is pooled with the other rare ones
CALIBRATION_FOLDS = 3
CALIBRATION_BINS = 5
DEFAULT_TEST_SIZE = 0.25
DEFAULT_SEED = 7


@dataclass(frozen=True, slots=True)
class Training:
    model: LeadModel
    dataset: Dataset


def train_model(
    path: str | Path,
    *,
    target: str | None = None,
    test_size: float = DEFAULT_TEST_SIZE,
    seed: int = DEFAULT_SEED,
    drop: tuple[str, ...] = (),
    now: datetime | None = None,
) -> Training:
    """Read ``path``, fit, measure; raise ``InputFileError`` for a file that cannot train."""
    if not 0.1 <= test_size <= 0.5:
        raise InputFileError(
            Problem(f"--test-size {test_size:g} must be between 0.1 and 0.5", field="--test-size")
        )
    dataset = read_dataset(Path(path), target=target, drop=drop)
    return Training(fit(dataset, test_size=test_size, seed=seed, now=now), dataset)


def fit(dataset: Dataset, *, test_size: float, seed: int, now: datetime | None = None) -> LeadModel:
    import sklearn  # type: ignore[import-untyped]
    from sklearn.metrics import brier_score_loss, roc_auc_score  # type: ignore[import-untyped]
    from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

    from leadrelay.scoring.model import pickled

    matrix = _matrix(dataset)
    outcome = np.asarray(dataset.outcome, dtype=int)
    x_train, x_test, y_train, y_test = train_test_split(
        matrix, outcome, test_size=test_size, random_state=seed, stratify=outcome
    )
    estimator = _estimator(len(dataset.numeric), len(dataset.categorical), seed)
    estimator.fit(x_train, y_train)
    predicted = estimator.predict_proba(x_test)[:, 1]
    info = ModelInfo(
        target=dataset.target,
        numeric=dataset.numeric,
        categorical=dataset.categorical,
        dropped=tuple((d.column, d.reason) for d in dataset.dropped),
        trained_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        source=Path(dataset.source).name,
        rows_train=len(y_train),
        rows_test=len(y_test),
        base_rate=float(outcome.mean()),
        auc=float(roc_auc_score(y_test, predicted)),
        brier=float(brier_score_loss(y_test, predicted)),
        calibration=calibration_bins(predicted, y_test),
        seed=seed,
        test_size=test_size,
        sklearn_version=sklearn.__version__,
        digest=hashlib.sha256(pickled(estimator)).hexdigest(),
    )
    return LeadModel(info, estimator)


def _matrix(dataset: Dataset) -> np.ndarray:
    columns: list[list[Any]] = [
        [np.nan if n is None else n for n in dataset.numbers[name]] for name in dataset.numeric
    ]
    columns += [dataset.categories[name] for name in dataset.categorical]
    matrix = np.empty((dataset.rows, len(columns)), dtype=object)
    for j, column in enumerate(columns):
        matrix[:, j] = column
    return matrix


def _estimator(numeric: int, categorical: int, seed: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
    from sklearn.compose import ColumnTransformer  # type: ignore[import-untyped]
    from sklearn.impute import SimpleImputer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import OneHotEncoder, StandardScaler  # type: ignore[import-untyped]

    parts: list[tuple[str, Any, list[int]]] = []
    if numeric:
        numbers = Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                ("scale", StandardScaler()),
            ]
        )
        parts.append(("numeric", numbers, list(range(numeric))))
    if categorical:
        encoder = OneHotEncoder(
            handle_unknown="ignore", min_frequency=MIN_FREQUENCY, sparse_output=False
        )
        parts.append(("categorical", encoder, list(range(numeric, numeric + categorical))))
    pipeline = Pipeline(
        [
            ("prepare", ColumnTransformer(parts, remainder="drop")),
            ("classify", LogisticRegression(max_iter=2000)),
        ]
    )
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    # ensemble=False: one pipeline fitted on all training rows, its sigmoid fitted on the
    # folds' out-of-fold predictions; one model to explain and to score fast
    return CalibratedClassifierCV(pipeline, method="sigmoid", cv=folds, ensemble=False)


def calibration_bins(
    predicted: np.ndarray, outcome: np.ndarray, bins: int = CALIBRATION_BINS
) -> tuple[CalibrationBin, ...]:
    """Held-out leads in ``bins`` equal-count bands of predicted probability."""
    order = np.argsort(predicted, kind="stable")
    result: list[CalibrationBin] = []
    for part in np.array_split(order, bins):
        if len(part) == 0:
            continue
        chosen = predicted[part]
        result.append(
            CalibrationBin(
                low=float(chosen.min()),
                high=float(chosen.max()),
                predicted=float(chosen.mean()),
                observed=float(outcome[part].mean()),
                count=len(part),
            )
        )
    return tuple(result)
