"""Step 2 of the training method (Section 3, Fig. 2B middle, eq. 5–7): fold the CNN's
BatchNorm and initialise the linear CordsNet so that each area's steady state equals the CNN
layer's output.

For area ``l`` the folded CNN computes (eq. 5) the pre-activation
``y_l = W_rec,l (W_ff,l h_l + c_ff,l) + c_rec,l`` (then ``x_l = ReLU(y_l)``). The linear CordsNet
area (identity σ) settles at (eq. 7)::

    r_l = (I − W_l)⁻¹ (b_l + V_l h_l)

with ``W_l`` its 3 × 3 recurrent convolution, ``V_l`` its 3 × 3 input convolution and ``b_l``
one bias per unit. The authors fit ``(W_l, b_l)`` by gradient descent on the MSE between a
truncated series ``(I + W + W² + W³)(b + u)`` and ``y_l`` with ``V_l`` frozen to the CNN's
``W_ff``. Here the fit is closed form (a documented choice, :func:`inverse_init`): the
steady-state equation ``y = W y + V h + b`` is linear in ``(W, V, b)``, so ``(W, V, b)`` is the
ridge least-squares solution of that equation over the CNN's own activities on the training
images (``V`` is fitted too; the ridge penalises ``W`` only, which keeps ``I − W`` well
conditioned). The steady-state error is ``(I − W)⁻¹`` times the equation residual; the ridge
strength is chosen among ``ridges`` by the steady-state error on held-out images. The stem,
input-skip and skip convolutions and the readout are copied from the folded CNN; their biases
(which CordsNet does not have) are per-unit constants that enter the fitted ``b_l``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from cordsneuro.models.cordsnet import CordsNet
from cordsneuro.models.feedforward import CordsNetCNN, fold_batchnorm
from cordsneuro.models.wiring import is_stage_start

__all__ = ["cnn_targets", "area_inputs", "inverse_init", "steady_state_errors", "linear_from_cnn"]

#: Relative ridge strengths tried on ``W`` (fraction of the mean diagonal of its Gram block).
RIDGES = (1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1)


def cnn_targets(cnn: CordsNetCNN, images: Tensor) -> list[Tensor]:
    """The pre-ReLU output ``y_l`` of every area of a (folded or eval-mode) CNN,
    ``(batch, C_l, H_l, W_l)`` each (the output of its recurrent convolution and norm)."""
    out: list[Tensor] = []
    hooks = [
        norm.register_forward_hook(lambda _m, _i, o: out.append(o)) for norm in cnn.recurrent_norm
    ]
    try:
        cnn.features(images)
    finally:
        for h in hooks:
            h.remove()
    return out


def area_inputs(model: CordsNet, images: Tensor, rates: Sequence[Tensor]) -> list[Tensor]:
    """The input ``h_l`` of every area of ``model`` given the image and the areas' rates
    (the wiring of :class:`~cordsneuro.models.cordsnet.CordsNet`: ReLU of the rates between
    areas, the stem into area 0, the input skip into area 1, 1 × 1 skips into areas 3, 5, 7)."""
    stem = model.stem_features(images)
    x = [F.relu(r) for r in rates]
    h = []
    for i in range(model.depth):
        if i == 0:
            h.append(stem)
        elif i == 1:
            h.append(x[0] + F.conv2d(stem, model.input_skip.weight, padding=1))
        elif is_stage_start(i):
            h.append(x[i - 1] + x[i - 2])
        else:
            h.append(x[i - 1] + F.conv2d(x[i - 2], model.skip[(i - 3) // 2].weight, stride=2))
    return h


def linear_from_cnn(
    cnn: CordsNetCNN, *, image_size=None, seed: int = 0
) -> tuple[CordsNet, CordsNetCNN]:
    """A linear CordsNet (identity σ) with the stem, input skip, skips, readout and input
    convolutions of ``cnn`` folded (eq. 5); recurrent weights and biases still to fit.
    Returns the model and the folded CNN."""
    folded = fold_batchnorm(cnn) if cnn.batchnorm else cnn
    model = CordsNet(
        cnn.depth,
        cnn.in_channels,
        cnn.num_classes,
        image_size=cnn.image_size if image_size is None else image_size,
        activation="identity",
        seed=seed,
    )
    with torch.no_grad():
        model.stem.weight = folded.stem.weight.clone()
        model.input_skip.weight = folded.input_skip.weight.clone()
        for dst, src in zip(model.skip, folded.skip):
            dst.weight = src.weight.clone()
        for dst, src in zip(model.feedforward, folded.feedforward):
            dst.weight = src.weight.clone()
        model.fc.weight = folded.fc.weight.clone()
        model.fc.bias.copy_(folded.fc.bias)
    return model, folded


class _AreaStats:
    """Sums for the least-squares fit of one area (float64)."""

    def __init__(self, p: int, c: int, positions: int) -> None:
        self.n = 0
        self.zz = torch.zeros(p, p, dtype=torch.float64)
        self.zy = torch.zeros(p, c, dtype=torch.float64)
        self.z_sum = torch.zeros(positions, p, dtype=torch.float64)
        self.y_sum = torch.zeros(positions, c, dtype=torch.float64)

    def add(self, z: Tensor, y: Tensor) -> None:
        # z: (batch, positions, p), y: (batch, positions, c)
        z, y = z.double(), y.double()
        self.n += z.shape[0]
        flat_z = z.reshape(-1, z.shape[-1])
        self.zz += flat_z.T @ flat_z
        self.zy += flat_z.T @ y.reshape(-1, y.shape[-1])
        self.z_sum += z.sum(0)
        self.y_sum += y.sum(0)

    def solve(self, ridge: float, n_w: int) -> tuple[Tensor, Tensor]:
        """θ ``(p, c)`` and per-position bias ``(positions, c)`` of the centred ridge fit."""
        mz, my = self.z_sum / self.n, self.y_sum / self.n
        g = self.zz - self.n * torch.einsum("ki,kj->ij", mz, mz)
        cy = self.zy - self.n * torch.einsum("ki,kj->ij", mz, my)
        scale = torch.diagonal(g)[:n_w].mean().clamp_min(1e-30)
        reg = torch.zeros(g.shape[0], dtype=torch.float64)
        reg[:n_w] = ridge * scale
        jitter = 1e-12 * torch.diagonal(g).mean()
        theta = torch.linalg.solve(g + torch.diag(reg + jitter), cy)
        return theta, my - mz @ theta


def _features(y: Tensor, h: Tensor, stride: int) -> Tensor:
    zy = F.unfold(y, 3, padding=1)  # (batch, 9 c, positions), ordered like conv weights
    zh = F.unfold(h, 3, padding=1, stride=stride)
    return torch.cat([zy, zh], dim=1).transpose(1, 2)


def _settle(w: Tensor, v: Tensor, b: Tensor, h: Tensor, stride: int, alpha: float, steps: int):
    """The linear area simulated by Euler from zero for ``steps`` steps with its input held:
    ``r ← r + α (W r + V h + b − r)``; None if it blows up."""
    u = F.conv2d(h, v, stride=stride, padding=1) + b
    r = torch.zeros_like(u)
    for _ in range(steps):
        r = r + alpha * (F.conv2d(r, w, padding=1) + u - r)
    return r if torch.isfinite(r).all() else None


@torch.no_grad()
def inverse_init(
    cnn: CordsNetCNN,
    train_batches: Iterable[Tensor],
    heldout_images: Tensor,
    *,
    ridges: Sequence[float] = RIDGES,
    seed: int = 0,
    horizon: int = 100,
) -> tuple[CordsNet, list[dict]]:
    """Fold ``cnn`` (eq. 5) and fit the linear CordsNet area by area (eq. 7).

    Parameters
    ----------
    cnn : CordsNetCNN
        The trained step-1 CNN (with BatchNorm, or already folded).
    train_batches : iterable of Tensor
        Normalised training images ``(batch, C, H, W)`` (no augmentation needed).
    heldout_images : Tensor
        Images on which the ridge strength of each area is chosen.
    ridges : sequence of float
        Relative ridge strengths on ``W`` to try.
    horizon : int
        The ridge of each area is the one whose area, simulated by Euler for ``horizon``
        steps from zero with the CNN's input held (default 100: the image duration of eq. 8),
        ends closest to the CNN's output on the held-out images. A ridge that only reaches the
        fixed point slowly (eigenvalues of ``W`` near 1) loses to one that settles in time.

    Returns
    -------
    model : CordsNet
        The initialised linear CordsNet (``activation="identity"``).
    report : list of dict
        Per area: the chosen ridge and the held-out relative error after ``horizon`` steps
        with the CNN's inputs.
    """
    cnn = cnn.eval()
    model, folded = linear_from_cnn(cnn, seed=seed)
    model = model.double()
    folded = folded.double()
    alphas = [a.reshape(-1) for a in model.alpha]
    if any(a.numel() != 1 for a in alphas):
        raise ValueError("inverse_init needs one time constant per area")
    strides = [2 if is_stage_start(i) else 1 for i in range(model.depth)]
    stats: list[_AreaStats] = []
    for images in train_batches:
        images = images.double()
        ys = cnn_targets(folded, images)
        hs = area_inputs(model, images, ys)
        for i, (y, h) in enumerate(zip(ys, hs)):
            z = _features(y, h, strides[i])
            if len(stats) <= i:
                stats.append(_AreaStats(z.shape[-1], y.shape[1], z.shape[1]))
            stats[i].add(z, y.flatten(2).transpose(1, 2))
    heldout = heldout_images.double()
    ys_test = cnn_targets(folded, heldout)
    hs_test = area_inputs(model, heldout, ys_test)
    report = []
    for i, st in enumerate(stats):
        c, (hh, ww) = model.channels[i], model.sizes[i]
        n_w = 9 * c
        best = None
        for ridge in ridges:
            theta, bias = st.solve(ridge, n_w)
            w = theta[:n_w].T.reshape(c, c, 3, 3)
            v = theta[n_w:].T.reshape(c, -1, 3, 3)
            b = bias.T.reshape(c, hh, ww)
            r = _settle(w, v, b, hs_test[i], strides[i], float(alphas[i]), horizon)
            if r is None:
                continue
            err = float((r - ys_test[i]).norm() / ys_test[i].norm())
            if best is None or err < best[0]:
                best = (err, ridge, w, v, b)
        if best is None:
            raise RuntimeError(f"area {i}: no ridge in {list(ridges)} gave a stable steady state")
        err, ridge, w, v, b = best
        model.recurrent[i].weight = w.clone()
        model.feedforward[i].weight = v.clone()
        model.area_bias[i].copy_(b)
        report.append({"area": i, "ridge": ridge, f"heldout_relative_error_{horizon}_steps": err})
    return model.float(), report


@torch.no_grad()
def steady_state_errors(
    model: CordsNet, cnn: CordsNetCNN, images: Tensor, *, steps: int = 500
) -> list[float]:
    """Relative error ``‖r_l − y_l‖ / ‖y_l‖`` per area between the linear CordsNet simulated
    for ``steps`` Euler steps from zero with the image on (the whole network, each area fed by
    the simulated areas below) and the CNN's pre-ReLU outputs ``y_l``."""
    from cordsneuro.models.cordsnet import Protocol

    cnn = cnn.eval()
    traj = model.simulate(
        images,
        Protocol.classification(stimulus_ms=steps * model.dt),
        start="zero",
        record_areas="all",
        record_outputs=False,
        record_steps=[-1],
    )
    ys = cnn_targets(cnn, images)
    return [float((r[:, -1] - y).norm() / y.norm()) for r, y in zip(traj.rates, ys)]
