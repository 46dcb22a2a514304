"""Model families: single-area RNNs, the deep vision CordsNet and multi-area models."""

from cordsneuro.models.recurrent import (  # noqa: F401
    ConvRNN,
    FullRNN,
    LowRankRNN,
    SparseRNN,
    recurrent_parameter_count,
    table_s1,
)
