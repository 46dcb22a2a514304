"""Spectra against dense ground truth (Appendix B.1, Fig. 4A, S1A)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from cordsneuro.analyses.spectra import (
    circular_conv_eigenvalues,
    circular_conv_singular_values,
    conv_matrix,
    conv_operator,
    jacobian_eigenvalues,
    jacobian_operator,
    power_iteration,
    recurrent_eigenvalues,
    singular_values,
    top_eigenvalues,
)
from cordsneuro.models.recurrent import ConvRNN, FullRNN


def _match_error(found: np.ndarray, truth: np.ndarray) -> float:
    """Largest distance from each found eigenvalue to the nearest true one, relative to the
    spectral radius."""
    return max(np.min(np.abs(v - truth)) for v in found) / np.abs(truth).max()


def _kernel(c_out, c_in, k, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(c_out, c_in, k, k, generator=g, dtype=torch.float64) / (k * c_in**0.5)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(padding=1),
        dict(stride=2, padding=1),
        dict(stride=(2, 1), padding=(1, 2), dilation=2),
        dict(padding=(0, 1, 1, 0)),
        dict(padding="same", padding_mode="circular"),
        dict(stride=2, padding=1, padding_mode="circular"),
    ],
)
def test_conv_matrix_equals_conv2d_on_unit_vectors(kwargs):
    kernel = _kernel(3, 2, 3)
    shape = (7, 6)
    matrix = conv_matrix(kernel, shape, **kwargs)
    # independent truth: the convolution applied to every unit vector (the paper's way)
    eye = torch.eye(2 * 7 * 6, dtype=torch.float64).reshape(-1, 2, 7, 6)
    conv = torch.nn.Conv2d(2, 3, 3, bias=False, dtype=torch.float64)
    conv.weight.data = kernel
    conv.stride = (
        kwargs.get("stride", 1)
        if isinstance(kwargs.get("stride", 1), tuple)
        else (kwargs.get("stride", 1),) * 2
    )
    conv.dilation = (kwargs.get("dilation", 1),) * 2
    pad = kwargs["padding"]
    if pad == "same":
        pad = (1, 1, 1, 1)
    elif isinstance(pad, int):
        pad = (pad,) * 4
    elif len(pad) == 2:
        pad = (pad[1], pad[1], pad[0], pad[0])
    mode = "circular" if kwargs.get("padding_mode") == "circular" else "constant"
    columns = F.conv2d(
        F.pad(eye, pad, mode=mode), kernel, stride=conv.stride, dilation=conv.dilation
    )
    truth = columns.reshape(eye.shape[0], -1).T
    assert matrix.shape == truth.shape
    torch.testing.assert_close(matrix, truth, rtol=0, atol=1e-14)
    op = conv_operator(kernel, shape, **kwargs)
    x = torch.randn(4, matrix.shape[1], dtype=torch.float64)
    torch.testing.assert_close(op(x), x @ matrix.T)


def test_conv_matrix_from_module_and_convrnn():
    conv = torch.nn.Conv2d(2, 4, 3, stride=2, padding=1, padding_mode="circular", bias=False)
    x = torch.randn(3, 2, 9, 8)
    y = conv_matrix(conv, (9, 8)) @ x.reshape(3, -1).T
    torch.testing.assert_close(y.T, conv(x).reshape(3, -1), rtol=1e-5, atol=1e-5)
    model = ConvRNN(3, 5, 6, 1, 1, kernel_size=4, seed=0)
    flat = torch.randn(2, model.n_neurons)
    torch.testing.assert_close(
        flat @ model.recurrent_matrix().T, model.recurrent(flat), rtol=1e-5, atol=1e-5
    )


def test_fft_spectrum_equals_dense_for_circular_padding():
    for k, shape in ((3, (6, 7)), (4, (5, 5))):
        kernel = _kernel(4, 4, k, seed=k)
        dense = torch.linalg.eigvals(
            conv_matrix(kernel, shape, padding="same", padding_mode="circular")
        )
        fft = circular_conv_eigenvalues(kernel, shape)
        assert fft.shape == dense.shape
        # same multiset: match each FFT eigenvalue to a dense one
        assert _match_error(fft.numpy(), dense.numpy()) < 1e-10
        assert _match_error(dense.numpy(), fft.numpy()) < 1e-10
        sv = circular_conv_singular_values(kernel, shape)
        torch.testing.assert_close(
            sv, singular_values(kernel, shape, padding="same", padding_mode="circular")
        )


def test_fft_spectrum_of_convrnn_matches_its_matrix():
    model = ConvRNN(3, 6, 6, 1, 1, kernel_size=4, padding="circular", gain=1.3, seed=2)
    dense = torch.linalg.eigvals(model.recurrent_matrix().detach().double())
    fft = circular_conv_eigenvalues(model.kernel, (6, 6), padding=model.pad)
    assert _match_error(fft.numpy(), dense.numpy()) < 1e-10


def test_matrix_free_top_eigenvalues_agree_with_dense():
    kernel = _kernel(8, 8, 3, seed=3)
    shape = (9, 9)  # n = 648
    dense = np.linalg.eigvals(conv_matrix(kernel, shape, padding=1).numpy())
    op = conv_operator(kernel, shape, padding=1)
    for which, key in (("LM", -np.abs(dense)), ("LR", -dense.real)):
        spec = top_eigenvalues(op, 12, which=which, method="arpack", return_eigenvectors=True)
        truth = dense[np.argsort(key)][:12]
        assert spec.method == "arpack"
        assert _match_error(spec.values, dense) < 1e-9
        # the selected set is the true top set (compare the sorted keys)
        sel = np.abs if which == "LM" else np.real
        np.testing.assert_allclose(np.sort(sel(spec.values)), np.sort(sel(truth)), rtol=1e-9)
        assert spec.residuals.max() < 1e-9
    # W - I shifts the spectrum by exactly -1
    shifted = top_eigenvalues(op, 6, which="LR", shift=1.0, method="arpack")
    np.testing.assert_allclose(
        np.sort(shifted.values.real), np.sort(dense.real)[-6:] - 1, rtol=1e-9
    )


def test_recurrent_and_jacobian_eigenvalues_match_dense():
    model = ConvRNN(4, 8, 8, 1, 1, gain=1.5, seed=0)  # 256 neurons
    dense_w = np.linalg.eigvals(model.recurrent_matrix().detach().double().numpy())
    spec = recurrent_eigenvalues(model, 8, minus_identity=True, method="arpack", which="LR")
    assert _match_error(spec.values, dense_w - 1) < 1e-9
    state = 0.5 * torch.randn(1, model.n_neurons, generator=torch.Generator().manual_seed(0))
    inputs = torch.tensor([0.7])
    # analytic Jacobian of eq. 2: (diag σ'(drive) W − I) / τ
    model64 = model.double()
    w = model64.recurrent_matrix().detach()
    drive = model64.drive(state.double().reshape(1, *model.state_shape), inputs[None].double())
    drive = drive.detach().reshape(-1)
    jac = (
        (1 - torch.tanh(drive) ** 2)[:, None] * w - torch.eye(model.n_neurons, dtype=torch.float64)
    ) / 100.0
    op = jacobian_operator(model, state, inputs)
    torch.testing.assert_close(op(torch.eye(model.n_neurons, dtype=torch.float64)).T, jac)
    dense_j = np.linalg.eigvals(jac.numpy())
    free = jacobian_eigenvalues(model, state, inputs, k=6, method="arpack")
    assert _match_error(free.values, dense_j) < 1e-9
    np.testing.assert_allclose(free.values.real.max(), dense_j.real.max(), rtol=1e-9)
    dense = jacobian_eigenvalues(model, state, inputs, k=6, method="dense")
    np.testing.assert_allclose(np.sort(dense.values.real), np.sort(free.values.real), rtol=1e-9)


def test_jacobian_of_multi_area_state_structure():
    # a tuple state goes through flatten/unflatten; the Euler-step Jacobian is I + dt J
    model = FullRNN(30, 2, 1, gain=1.2, seed=1)
    state = torch.randn(1, 30)
    jv = jacobian_operator(model, state, kind="velocity")
    js = jacobian_operator(model, state, kind="step")
    v = torch.randn(3, 30, dtype=torch.float64)
    torch.testing.assert_close(js(v), v + model.dt * jv(v))


def test_power_iteration_finds_dominant_real_eigenvector():
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(50, 50, generator=g, dtype=torch.float64))
    values = torch.cat([torch.tensor([3.0]), torch.linspace(-1.5, 1.5, 49, dtype=torch.float64)])
    matrix = q @ torch.diag(values) @ q.T
    lam, vec = power_iteration(matrix, n_trials=4, n_iter=500)
    assert abs(lam - 3.0) < 1e-9
    assert abs(abs(float(vec @ q[:, 0])) - 1) < 1e-9


def test_bad_inputs_raise():
    kernel = _kernel(4, 4, 3)
    op = conv_operator(kernel, (5, 5), padding=1)
    with pytest.raises(ValueError, match="k must be"):
        top_eigenvalues(op, 100, n=100)
    with pytest.raises(ValueError, match="k must be"):
        top_eigenvalues(torch.eye(5), 5)
    with pytest.raises(ValueError, match="map"):
        top_eigenvalues(op, 3, n=50)  # the operator is 100 × 100
    with pytest.raises(ValueError, match="square"):
        top_eigenvalues(torch.zeros(4, 5), 2)
    with pytest.raises(ValueError, match="which"):
        top_eigenvalues(op, 3, n=100, which="SM")
    with pytest.raises(ValueError, match="padding"):
        conv_matrix(kernel, (5, 5), padding=(1, 2, 3))
    with pytest.raises(ValueError, match="C_out == C_in"):
        circular_conv_eigenvalues(_kernel(3, 4, 3), (5, 5))
    with pytest.raises(ValueError, match="state"):
        jacobian_operator(FullRNN(10, 1, 1, seed=0), torch.zeros(1, 11))
