"""The learned lead score: train a calibrated model on past outcomes, score leads with it.

Pure: no database, web or CLI imports; scikit-learn is imported only when a model is trained
or loaded. ``leadrelay score train`` (cli_score.py) and ``screening.score_model`` in the policy
are its two users.
"""

from leadrelay.scoring.dataset import Dataset, Dropped, read_dataset
from leadrelay.scoring.model import (
    CalibrationBin,
    LeadModel,
    ModelInfo,
    ModelVersionWarning,
    load_model,
    read_info,
    save_model,
)
from leadrelay.scoring.train import Training, train_model

__all__ = [
    "CalibrationBin",
    "Dataset",
    "Dropped",
    "LeadModel",
    "ModelInfo",
    "ModelVersionWarning",
    "Training",
    "load_model",
    "read_dataset",
    "read_info",
    "save_model",
    "train_model",
]
