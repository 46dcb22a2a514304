"""Vision training of CordsNet (Section 3, Fig. 2B, Appendix C–D)."""

from cordsneuro.training.vision.losses import (
    ce_ramp,
    check_labels,
    cordsnet_loss,
    cordsnet_training_loss,
    linear_loss,
    linear_training_loss,
    rnn_training_loss,
)

__all__ = [
    "ce_ramp",
    "check_labels",
    "cordsnet_loss",
    "cordsnet_training_loss",
    "linear_loss",
    "linear_training_loss",
    "rnn_training_loss",
]
