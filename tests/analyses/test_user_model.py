"""A user's own DynamicalRNN subclass (two areas, tuple state) through every analysis.

The model is linear (identity σ): its fixed point, Jacobian spectrum and regime are known in
closed form, so each analysis is checked against that truth."""

import numpy as np
import torch
from torch import nn

from cordsneuro.analyses import classify_regime, find_fixed_points, jacobian_eigenvalues
from cordsneuro.dynamics import AnalysableModel, DynamicalRNN


class TwoAreas(DynamicalRNN):
    """Area A (3 units) and area B (2 units), coupled by one dense matrix."""

    def __init__(self, scale: float = 0.5, seed: int = 0) -> None:
        super().__init__(tau=10.0, dt=1.0, activation="identity")
        self.state_shapes = ((3,), (2,))
        self._init_time_constants()
        g = torch.Generator().manual_seed(seed)
        w = torch.randn(5, 5, generator=g, dtype=torch.float64)
        w = scale * w / torch.linalg.eigvals(w).abs().max()  # spectral radius = scale
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.linspace(-1, 1, 5, dtype=torch.float64))
        self.out = nn.Linear(5, 1).double()

    def drive(self, state, inputs):
        flat = torch.cat(state, dim=1)
        d = flat @ self.weight.T + self.bias
        return (d[:, :3], d[:, 3:])

    def readout(self, state):
        return self.out(torch.cat(state, dim=1))


def test_user_subclass_satisfies_the_interface_and_steps_flat_and_structured():
    model = TwoAreas()
    assert isinstance(model, AnalysableModel)
    state = (torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64))
    flat = model.flatten_state(state)
    structured = model.flatten_state(model.step(state))
    torch.testing.assert_close(model.step(flat), structured)
    # the Euler step is r + dt · dr/dt (eq. 9)
    torch.testing.assert_close(model.step(flat), flat + model.dt * model.velocity(flat))


def test_user_subclass_through_fixed_points_spectra_and_regimes():
    model = TwoAreas(scale=0.5)
    w = model.weight.detach().numpy()
    b = model.bias.detach().numpy()
    r_star = np.linalg.solve(np.eye(5) - w, b)  # r = W r + b
    eig = np.linalg.eigvals(w - np.eye(5)) / 10.0  # (W − I) / τ
    expected = np.sort_complex(eig[np.argsort(-eig.real)][:4])

    fp = find_fixed_points(model, torch.randn(3, 5, dtype=torch.float64), n_eigenvalues=5)
    assert len(fp) == 1
    np.testing.assert_allclose(fp.states[0].numpy(), r_star, atol=1e-6)
    assert bool(fp.stable.all())

    spec = jacobian_eigenvalues(model, torch.as_tensor(r_star)[None], k=4)
    np.testing.assert_allclose(np.sort_complex(np.asarray(spec.values)), expected, atol=1e-10)

    report = classify_regime(model, duration=200.0, transient=400.0, n_trials=2)
    assert report.label == "stable"
    assert report.lyapunov_per_ms < 0
