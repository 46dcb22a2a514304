"""The vision losses (eq. 4, eq. 8) against values computed by hand."""

import math

import pytest
import torch

from cordsneuro.models.cordsnet import CordsNet
from cordsneuro.models.recurrent import FullRNN
from cordsneuro.training.vision import (
    check_labels,
    cordsnet_loss,
    cordsnet_training_loss,
    linear_loss,
    linear_training_loss,
    rnn_training_loss,
)

#: mean of logspace(−3, 0, 30): the eq. 4 / eq. 8 weights averaged over the 30 steps
RAMP_MEAN = sum(10 ** (-3 + 3 * k / 29) for k in range(30)) / 30


def test_eq8_equal_logits_give_log_k_times_the_mean_weight():
    out = torch.zeros(4, 30, 5)  # uniform softmax over 5 classes: CE = ln 5 at every step
    labels = torch.tensor([0, 1, 2, 4])
    assert linear_loss(out, labels).item() == pytest.approx(RAMP_MEAN * math.log(5), rel=1e-6)


def test_eq8_soft_labels_by_hand():
    # logits (ln 3, 0): p = (3/4, 1/4); target (1/2, 1/2): CE = −½ ln ¾ − ½ ln ¼
    out = torch.tensor([math.log(3.0), 0.0]).expand(2, 30, 2)
    soft = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    expected = RAMP_MEAN * -(0.5 * math.log(0.75) + 0.5 * math.log(0.25))
    assert linear_loss(out, soft).item() == pytest.approx(expected, rel=1e-6)


def test_eq4_spontaneous_penalty_by_hand():
    out = torch.zeros(2, 30, 4)
    labels = torch.tensor([1, 3])
    spont = [torch.zeros(2, 3, 2, 2), torch.ones(2, 5, 1, 1)]
    # area 0 one above spontaneous everywhere (MSE 1), area 1 two below (MSE 4): mean 2.5
    act = [torch.ones(2, 10, 3, 2, 2), -torch.ones(2, 10, 5, 1, 1)]
    expected = RAMP_MEAN * math.log(4) + 1e-3 * 2.5
    assert cordsnet_loss(out, labels, act, spont).item() == pytest.approx(expected, rel=1e-6)


def _silent_cordsnet(bias):
    """A CordsNet whose every weight is zero (weight-norm magnitudes g = 0, biases 0): the
    rates stay 0 and the logits are the readout bias."""
    m = CordsNet(2, 1, len(bias), image_size=8, seed=0)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("original0") or "bias" in name:
                p.zero_()
        m.fc.bias.copy_(torch.tensor(bias))
    return m


def test_training_losses_simulate_the_protocols():
    images, labels = torch.rand(3, 1, 8, 8), torch.tensor([0, 1, 1])
    m = _silent_cordsnet([math.log(3.0), 0.0])  # p = (3/4, 1/4) at every step
    ce = -(math.log(0.75) + 2 * math.log(0.25)) / 3
    assert cordsnet_training_loss(m, images, labels).item() == pytest.approx(
        RAMP_MEAN * ce, rel=1e-5
    )
    assert linear_training_loss(m, images, labels).item() == pytest.approx(RAMP_MEAN * ce, rel=1e-5)


def test_rnn_loss_on_a_silent_network():
    rnn = FullRNN(6, 4, 2, tau=10.0, dt=2.0, activation="relu", seed=0)
    with torch.no_grad():
        for p in rnn.parameters():
            p.zero_()
        rnn.b_out.copy_(torch.tensor([0.0, math.log(3.0)]))
    x, y = torch.rand(2, 4), torch.tensor([1, 1])
    assert rnn_training_loss(rnn, x, y).item() == pytest.approx(
        RAMP_MEAN * -math.log(0.75), rel=1e-5
    )


def test_labels_outside_the_classes_are_refused():
    out = torch.zeros(2, 30, 3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        linear_loss(out, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="non-negative with rows summing to 1"):
        linear_loss(out, torch.tensor([[0.5, 0.6, 0.0], [1.0, 0.0, 0.0]]))
    with pytest.raises(TypeError, match="integers"):
        check_labels(torch.tensor([0.0, 1.0]), 3)
    with pytest.raises(ValueError, match="batch 2"):
        linear_loss(out, torch.tensor([0, 1, 2]))
