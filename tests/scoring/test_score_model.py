"""Model files (round trip, refusals, version warning) and the fast path's exactness."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.scoring.score_data import INDUSTRIES, SOURCES

from leadrelay.errors import InputFileError
from leadrelay.scoring import LeadModel, ModelVersionWarning, load_model, read_info, save_model
from leadrelay.scoring.model import MAGIC

PROBES = [
    {"industry": "saas", "source": "referral", "employees": 5000},
    {"industry": "Mining ", "source": "COLD", "employees": None},
    {"industry": "unheard-of", "employees": "1,200"},
    {"employees": "not a number"},
    {},
]


def test_save_and_load_give_the_same_predictions(
    synthetic_model: LeadModel, model_dir: Path
) -> None:
    loaded = load_model(model_dir / "lead.model")

    assert loaded.info == synthetic_model.info
    assert loaded.info.name == "lead.model"
    assert list(loaded.probabilities(PROBES)) == list(synthetic_model.probabilities(PROBES))
    assert [loaded.probability(p) for p in PROBES] == [
        synthetic_model.probability(p) for p in PROBES
    ]


def test_metadata_is_readable_without_unpickling(model_dir: Path) -> None:
    info, payload = read_info(model_dir / "lead.model")

    assert info.target == "won"
    assert info.trained_at == "2026-05-01T00:00:00+00:00"
    assert payload.startswith(b"\x80")  # still a pickle: nothing was run


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("routes: []\n", encoding="utf-8")

    with pytest.raises(InputFileError, match="not a leadrelay model file") as caught:
        load_model(path)
    assert caught.value.problems[0].source == str(path)


def test_a_missing_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read the model file"):
        load_model(tmp_path / "nope.model")


def test_a_damaged_payload_is_refused_before_unpickling(model_dir: Path, tmp_path: Path) -> None:
    data = bytearray((model_dir / "lead.model").read_bytes())
    data[-20] ^= 0xFF
    path = tmp_path / "damaged.model"
    path.write_bytes(bytes(data))

    with pytest.raises(InputFileError, match="does not match its digest"):
        load_model(path)


def test_damaged_metadata_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.model"
    path.write_bytes(MAGIC + b"{not json\n" + pickle.dumps(1))

    with pytest.raises(InputFileError, match="metadata is damaged"):
        load_model(path)


def test_a_model_from_another_sklearn_version_loads_with_a_clear_warning(
    model_dir: Path, tmp_path: Path
) -> None:
    import sklearn

    data = (model_dir / "lead.model").read_bytes()
    current = f'"sklearn_version":"{sklearn.__version__}"'.encode()
    path = tmp_path / "old.model"
    path.write_bytes(data.replace(current, b'"sklearn_version":"0.24.2"', 1))

    with pytest.warns(ModelVersionWarning, match=r"trained with scikit-learn 0\.24\.2"):
        model = load_model(path)
    assert model.info.sklearn_version == "0.24.2"


def test_the_fast_path_is_used_for_trained_models(synthetic_model: LeadModel) -> None:
    assert synthetic_model.fast


def test_a_pickled_model_scores_the_same(synthetic_model: LeadModel) -> None:
    copy = pickle.loads(pickle.dumps(synthetic_model))

    assert copy.fast
    assert [copy.probability(p) for p in PROBES] == [synthetic_model.probability(p) for p in PROBES]


_employees = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "n/a", "12", "1,200", "3.5", "lots", " 40 "]),
    st.booleans(),
)
_category = st.one_of(
    st.none(),
    st.sampled_from([*INDUSTRIES, *SOURCES, "SaaS", " Referral ", "", "n/a"]),
    st.text(max_size=8),
    st.integers(),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"employees": _employees, "industry": _category, "source": _category},
            optional={"unrelated": st.text(max_size=3)},
        ),
        min_size=1,
        max_size=8,
    )
)
def test_fast_path_equals_predict_proba(synthetic_model: LeadModel, rows: list[Any]) -> None:
    reference = synthetic_model.probabilities(rows)
    for row, expected in zip(rows, reference, strict=True):
        assert abs(synthetic_model.probability(row) - expected) <= 1e-9


def test_saving_to_an_unwritable_place_is_a_clear_error(
    synthetic_model: LeadModel, tmp_path: Path
) -> None:
    with pytest.raises(InputFileError, match="cannot write the model"):
        save_model(synthetic_model, tmp_path / "missing-dir" / "m.model")


def test_rare_categories_pooled_in_training_score_as_the_pool(tmp_path: Path) -> None:
    from tests.scoring.score_data import SYNTHETIC_HEADER, synthetic_rows, write_csv

    from leadrelay.scoring import train_model

    rows = synthetic_rows(400)
    for i, rare in enumerate(["tiny-a", "tiny-c"] * 3):
        rows[i][2] = rare  # industry: values seen 3 times, below the pooling threshold of 5
    model = train_model(write_csv(tmp_path / "rare.csv", SYNTHETIC_HEADER, rows)).model
    probes = [{"industry": name, "source": "web"} for name in ("tiny-a", "tiny-c", "never-seen")]

    expected = model.probabilities(probes)
    assert [model.probability(p) for p in probes] == pytest.approx(list(expected), abs=1e-9)
    assert expected[0] == expected[1] != expected[2]  # pooled together, unlike an unknown


def test_values_given_as_text_score_like_typed_values(synthetic_model: LeadModel) -> None:
    """A custom attribute read from a lead CSV stays text unless the policy declares it."""
    typed = synthetic_model.probability({"employees": 5000, "industry": "saas"})

    assert synthetic_model.probability({"employees": "5,000", "industry": " SaaS"}) == typed
    assert synthetic_model.probability({"employees": 5000.0, "industry": "saas"}) == typed
    assert synthetic_model.probability({"employees": "n/a"}) == synthetic_model.probability({})
