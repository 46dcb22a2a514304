"""Model families: single-area RNNs, the deep vision CordsNet and multi-area models.

Subclass :class:`DynamicalRNN` (supply ``drive`` and ``readout``) for a model of your own: it
then simulates, trains, saves and works with every analysis.
"""

from cordsneuro.dynamics import DynamicalRNN, Trajectory, register_model
from cordsneuro.models import pretrained
from cordsneuro.models.cordsnet import (
    CordsNet,
    cordsnet_r2,
    cordsnet_r4,
    cordsnet_r6,
    cordsnet_r8,
    preprocess,
)
from cordsneuro.models.feedforward import CordsNetCNN, fold_batchnorm
from cordsneuro.models.protocols import Epoch, Protocol, VisionTrajectory
from cordsneuro.models.recurrent import (
    ConvRNN,
    FullRNN,
    LowRankRNN,
    SparseRNN,
    recurrent_parameter_count,
    table_s1,
)
from cordsneuro.models.weights import WEIGHTS, WeightsEntry, get_weights
from cordsneuro.models.wiring import AREA_CHANNELS, DEPTHS, area_sizes, cordsnet_wiring

__all__ = [
    "AREA_CHANNELS",
    "DEPTHS",
    "WEIGHTS",
    "ConvRNN",
    "CordsNet",
    "CordsNetCNN",
    "DynamicalRNN",
    "Epoch",
    "FullRNN",
    "LowRankRNN",
    "Protocol",
    "SparseRNN",
    "Trajectory",
    "VisionTrajectory",
    "WeightsEntry",
    "area_sizes",
    "cordsnet_r2",
    "cordsnet_r4",
    "cordsnet_r6",
    "cordsnet_r8",
    "cordsnet_wiring",
    "fold_batchnorm",
    "get_weights",
    "preprocess",
    "pretrained",
    "recurrent_parameter_count",
    "register_model",
    "table_s1",
]
