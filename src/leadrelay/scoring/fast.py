"""Score one lead without scikit-learn: the fitted logistic model evaluated on a dict.

``predict_proba`` on one row costs some 6 ms (input validation, a ColumnTransformer, a
calibration wrapper), and screening runs for every lead. The model trained here is linear before
its sigmoid calibration, so it folds into a few numbers per feature:

    logit = bias + sum(weight * x, or the fill-in's share when x is missing)
                 + sum(the learnt weight of the lead's category)
    probability = 1 / (1 + exp(a * logit + b))        (scikit-learn's sigmoid calibration)

Every number is read from the fitted pipeline itself; a one-hot column's weight is found by
asking the fitted encoder to encode each known category, so infrequent-category grouping is
reproduced exactly. Unknown categories weigh 0, as ``handle_unknown='ignore'`` encodes them.
The tests hold this equal to ``predict_proba`` within 1e-9.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leadrelay.scoring.values import to_category, to_number

_UNKNOWN = "\x00unknown"  # a category no encoder has seen: encodes as all zeros
_INFINITE = (math.inf, -math.inf)
_LABELS_KEPT = 10_000


@dataclass(frozen=True, slots=True)
class LinearScorer:
    bias: float
    # (feature, fill-in value, weight, extra weight when missing: the missing-indicator's)
    numeric: tuple[tuple[str, float, float, float], ...]
    categorical: tuple[tuple[str, dict[str, float]], ...]  # (feature, category -> weight)
    a: float
    b: float
    # raw text -> its category label: leads repeat a few hundred spellings; a cache, so
    # the answer never depends on it
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    def probability(self, values: Mapping[str, Any]) -> float:
        logit = self.bias
        for name, fill, weight, if_missing in self.numeric:
            x = values.get(name)
            if type(x) is not float or x != x or x in _INFINITE:  # noqa: PLR0124 - NaN check
                x = to_number(x)
            logit += weight * fill + if_missing if x is None else weight * x
        labels = self.labels
        for name, weights in self.categorical:
            raw = values.get(name)
            label = labels.get(raw) if type(raw) is str else None
            if label is None:
                label = to_category(raw)
                if type(raw) is str and len(labels) < _LABELS_KEPT:
                    labels[raw] = label
            logit += weights.get(label, 0.0)
        z = self.a * logit + self.b
        if z > 0:  # either branch keeps exp() from overflowing
            e = math.exp(-z)
            return e / (1.0 + e)
        return 1.0 / (1.0 + math.exp(z))


def linear_scorer(
    estimator: Any, numeric: tuple[str, ...], categorical: tuple[str, ...]
) -> LinearScorer | None:
    """The fast scorer for a model ``train.py`` built, or None for any other shape."""
    calibrated = getattr(estimator, "calibrated_classifiers_", None)
    if not calibrated or len(calibrated) != 1:
        return None
    one = calibrated[0]
    if one.method != "sigmoid" or len(one.calibrators) != 1:
        return None
    pipeline = one.estimator
    steps = dict(getattr(pipeline, "named_steps", {}))
    prepare, classify = steps.get("prepare"), steps.get("classify")
    coef = getattr(classify, "coef_", None)
    if prepare is None or coef is None or coef.shape[0] != 1:
        return None
    weights = np.asarray(coef[0], dtype=float)
    bias = float(classify.intercept_[0])  # type: ignore[union-attr]
    slices: dict[str, slice] = prepare.output_indices_
    numeric_terms: list[tuple[str, float, float, float]] = []
    if numeric:
        part = prepare.named_transformers_["numeric"]
        impute, scale = part.named_steps["impute"], part.named_steps["scale"]
        block = weights[slices["numeric"]] / scale.scale_
        bias -= float(np.dot(block, scale.mean_))
        extra = [0.0] * len(numeric)
        indicator = getattr(impute, "indicator_", None)
        if indicator is not None:
            for k, feature in enumerate(indicator.features_):
                extra[int(feature)] = float(block[len(numeric) + k])
        numeric_terms = [
            (name, float(impute.statistics_[j]), float(block[j]), extra[j])
            for j, name in enumerate(numeric)
        ]
    categorical_terms: list[tuple[str, dict[str, float]]] = []
    if categorical:
        encoder = prepare.named_transformers_["categorical"]
        block = weights[slices["categorical"]]
        for i, name in enumerate(categorical):
            known = [str(c) for c in encoder.categories_[i]]
            probe = np.full((len(known), len(categorical)), _UNKNOWN, dtype=object)
            probe[:, i] = known
            encoded = encoder.transform(probe)
            dense = encoded.toarray() if hasattr(encoded, "toarray") else encoded
            shares = np.asarray(dense, dtype=float) @ block
            categorical_terms.append((name, dict(zip(known, map(float, shares), strict=True))))
    calibrator = one.calibrators[0]
    return LinearScorer(
        bias=bias,
        numeric=tuple(numeric_terms),
        categorical=tuple(categorical_terms),
        a=float(calibrator.a_),
        b=float(calibrator.b_),
    )
