"""Model families: single-area RNNs, the deep vision CordsNet and multi-area models."""

from cordsneuro.models.cordsnet import (  # noqa: F401
    CordsNet,
    Epoch,
    Protocol,
    VisionTrajectory,
    area_sizes,
    cordsnet_r2,
    cordsnet_r4,
    cordsnet_r6,
    cordsnet_r8,
)
from cordsneuro.models.feedforward import CordsNetCNN, fold_batchnorm  # noqa: F401
from cordsneuro.models.multiarea import MultiAreaModel  # noqa: F401
from cordsneuro.models.recurrent import (  # noqa: F401
    ConvRNN,
    FullRNN,
    LowRankRNN,
    SparseRNN,
    recurrent_parameter_count,
    table_s1,
)
