"""A trained lead model and its file: what it scores, how well, and the fitted pipeline.

A model file is a header line, one line of JSON metadata (readable without trusting the file),
then a pickle of the fitted scikit-learn pipeline. **A pickle can run any code when loaded:
load only model files you trust.** leadrelay loads one only when an admin names it in the
policy (``screening.score_model``) or on the command line; the metadata's sha256 of the pickle
catches a damaged or swapped payload, not a deliberate forgery.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from leadrelay.errors import InputFileError, Problem
from leadrelay.scoring.fast import LinearScorer, linear_scorer
from leadrelay.scoring.values import to_category, to_number

MAGIC = b"LEADRELAY-MODEL 1\n"


class ModelVersionWarning(UserWarning):
    """The model was trained with another scikit-learn version: its scores may differ."""


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """Held-out leads in one band of predicted probability: predicted vs actual win rate."""

    low: float
    high: float
    predicted: float
    observed: float
    count: int


@dataclass(frozen=True, slots=True)
class ModelInfo:
    target: str  # the outcome column it learnt
    numeric: tuple[str, ...]  # features, by lead field / attribute name
    categorical: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]  # (column, why it was left out)
    trained_at: str  # ISO 8601
    source: str  # the training file's name
    rows_train: int
    rows_test: int
    base_rate: float  # share of won leads among all rows with an outcome
    auc: float  # on the held-out rows
    brier: float  # on the held-out rows
    calibration: tuple[CalibrationBin, ...]
    seed: int
    test_size: float
    sklearn_version: str
    digest: str  # sha256 of the pickled pipeline
    name: str = ""  # the model file's name, once saved

    @property
    def features(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ModelInfo:
        data = json.loads(text)
        data["calibration"] = tuple(CalibrationBin(**b) for b in data["calibration"])
        data["dropped"] = tuple(tuple(d) for d in data["dropped"])
        data["numeric"], data["categorical"] = tuple(data["numeric"]), tuple(data["categorical"])
        return cls(**data)


class LeadModel:
    """A fitted model: ``probability(lead values)`` is the calibrated chance the lead is won."""

    __slots__ = ("_fast", "estimator", "info")

    def __init__(self, info: ModelInfo, estimator: Any) -> None:
        self.info = info
        self.estimator = estimator
        self._fast: LinearScorer | None = linear_scorer(estimator, info.numeric, info.categorical)

    @property
    def name(self) -> str:
        return self.info.name or "model"

    @property
    def fast(self) -> bool:
        """Whether ``probability`` runs without scikit-learn (the logistic fast path)."""
        return self._fast is not None

    def probability(self, values: Mapping[str, Any]) -> float:
        """The probability for one lead's fields (standard fields and custom attributes)."""
        if self._fast is not None:
            return self._fast.probability(values)
        return float(self.probabilities([values])[0])

    def probabilities(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """scikit-learn's ``predict_proba`` for many leads at once (the reference answer)."""
        matrix = feature_matrix(self.info.numeric, self.info.categorical, rows)
        return np.asarray(self.estimator.predict_proba(matrix)[:, 1], dtype=float)

    def __reduce__(self) -> tuple[type[LeadModel], tuple[ModelInfo, Any]]:
        return LeadModel, (self.info, self.estimator)

    def __repr__(self) -> str:
        return f"LeadModel({self.name!r}, auc={self.info.auc:.3f})"


def feature_matrix(
    numeric: Sequence[str], categorical: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> np.ndarray:
    """Rows as the pipeline's input: numbers (NaN when missing) then category labels."""
    matrix = np.empty((len(rows), len(numeric) + len(categorical)), dtype=object)
    for i, row in enumerate(rows):
        for j, name in enumerate(numeric):
            number = to_number(row.get(name))
            matrix[i, j] = np.nan if number is None else number
        for j, name in enumerate(categorical, start=len(numeric)):
            matrix[i, j] = to_category(row.get(name))
    return matrix


def pickled(estimator: Any) -> bytes:
    return pickle.dumps(estimator, protocol=5)


def save_model(model: LeadModel, path: str | Path) -> LeadModel:
    """Write the model file; returns the model named after it."""
    path = Path(path)
    payload = pickled(model.estimator)
    info = replace(model.info, name=path.name, digest=hashlib.sha256(payload).hexdigest())
    try:
        path.write_bytes(MAGIC + info.to_json().encode("utf-8") + b"\n" + payload)
    except OSError as exc:
        raise InputFileError(
            Problem(f"cannot write the model: {exc.strerror or exc}", source=str(path))
        ) from exc
    return LeadModel(info, model.estimator)


def read_info(path: str | Path) -> tuple[ModelInfo, bytes]:
    """The metadata and the (unchecked, not yet unpickled) payload of a model file."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputFileError(
            Problem(f"cannot read the model file: {exc.strerror or exc}", source=source)
        ) from exc
    if not data.startswith(MAGIC):
        raise InputFileError(
            Problem(
                "not a leadrelay model file (train one with `leadrelay score train`)",
                source=source,
            )
        )
    line, _, payload = data[len(MAGIC) :].partition(b"\n")
    try:
        info = ModelInfo.from_json(line.decode("utf-8"))
    except (ValueError, TypeError, KeyError) as exc:
        raise InputFileError(
            Problem(f"the model file's metadata is damaged: {exc}", source=source)
        ) from exc
    if hashlib.sha256(payload).hexdigest() != info.digest:
        raise InputFileError(
            Problem("the model file is damaged: its content does not match its digest", source)
        )
    return info, payload


def load_model(path: str | Path) -> LeadModel:
    """Load a model file. It is a pickle: only load files you trust (see the module docstring)."""
    import sklearn  # type: ignore[import-untyped]

    info, payload = read_info(path)
    if info.sklearn_version != sklearn.__version__:
        warnings.warn(
            ModelVersionWarning(
                f"{path}: trained with scikit-learn {info.sklearn_version}, loaded with"
                f" {sklearn.__version__}; scores may differ: retrain with"
                " `leadrelay score train`"
            ),
            stacklevel=2,
        )
    with warnings.catch_warnings():
        # scikit-learn's own version warning says the same as ours, less clearly
        from sklearn.exceptions import InconsistentVersionWarning  # type: ignore[import-untyped]

        warnings.simplefilter("ignore", InconsistentVersionWarning)
        try:
            estimator = pickle.loads(payload)
        except Exception as exc:
            raise InputFileError(
                Problem(f"the model cannot be loaded: {exc}", source=str(path))
            ) from exc
    if not hasattr(estimator, "predict_proba"):
        raise InputFileError(Problem("the model file holds no classifier", source=str(path)))
    return LeadModel(info, estimator)
