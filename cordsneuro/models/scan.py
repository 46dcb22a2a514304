"""A whole trial of Euler steps as one autograd node, with back-propagation through time
written out: the hot loop of training a single-area network.

``euler_scan`` runs ``r_{t+1} = r_t + α (σ(W r_t + c_t) − r_t)`` (eq. 9 with the drive
``W r + c``; ``c_t`` holds the input projection, the bias and any noise of step ``t``) for every
step of a trial and returns all states. It is the same update as
:meth:`cordsneuro.dynamics.DynamicalRNN.update` (a test checks states and gradients against the
step-by-step path in float64); what differs is only how the work is laid out:

* forward: per step one fused multiply–add (``baddbmm``), σ in place and one ``lerp`` into
  preallocated buffers (no per-step autograd nodes or temporaries);
* backward: per step one multiply by ``α σ'`` (computed for all steps at once after the forward
  loop) and one fused multiply–add for the gradient of the previous state; the gradient of
  ``W`` is one large matrix product over all steps and trials at the end.

Every tensor may carry a leading axis of K networks (``W`` of shape ``(K, N, N)``), which is how
:func:`cordsneuro.training.train_many` trains K networks as one batched product per step.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["euler_scan", "SCAN_ACTIVATIONS"]

#: σ whose derivative the backward pass reads off σ's output (``prelu`` takes the step path).
SCAN_ACTIVATIONS = ("tanh", "relu", "softplus", "identity")


def euler_scan(
    weight: Tensor | tuple[Tensor, Tensor],
    offsets: Tensor,
    state: Tensor,
    alpha: Tensor,
    activation: str,
) -> Tensor:
    """All states of a trial of Euler steps (eq. 9) for drive ``W r + c_t``.

    Parameters
    ----------
    weight : Tensor or (Tensor, Tensor)
        ``(N, N)`` recurrent matrix (row = postsynaptic neuron), or ``(K, N, N)`` for K networks;
        or its factors ``(P, Q)`` with ``W = P Q`` (``(N, R)`` and ``(R, N)``, with a leading K
        for K networks), used as such: two thin products per step instead of an ``N × N`` one.
    offsets : Tensor
        ``c_t``: ``(T, B, N)`` — or ``(T, K, B, N)`` — the drive of each step besides ``W r``.
    state : Tensor
        Initial rates ``(B, N)`` or ``(K, B, N)``.
    alpha : Tensor
        ``dt / τ``: a scalar, ``(N,)`` per neuron, or ``(K, 1, N)`` / ``(K, 1, 1)`` per network.
    activation : {"tanh", "relu", "softplus", "identity"}

    Returns
    -------
    Tensor
        Rates after each step, ``(T, B, N)`` or ``(T, K, B, N)`` (time first).
    """
    if activation not in SCAN_ACTIVATIONS:
        raise ValueError(f"activation must be one of {SCAN_ACTIVATIONS} (got {activation!r})")
    left, right = weight if isinstance(weight, tuple) else (weight, None)
    alpha = alpha.to(left.dtype)
    return _EulerScan.apply(left, right, offsets, state, alpha, activation)[0]


def _multiply_add(c: Tensor, a: Tensor, b: Tensor, *, beta: float = 1.0, out=None) -> Tensor:
    """``beta c + a @ b`` for one network (``addmm``) or a stack of them (``baddbmm``)."""
    fused = torch.addmm if b.dim() == 2 else torch.baddbmm
    return fused(c, a, b, beta=beta, out=out)


def _transposed(x: Tensor) -> Tensor:
    return x.transpose(-1, -2).contiguous()


def _thin(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for a tall ``a`` (all steps × trials) and a thin ``b`` (a low rank or a few
    outputs), computed as ``(bᵀ aᵀ)ᵀ``: MKL runs that orientation 2–3× faster (a view)."""
    return (b.T @ a.T).T


def _run(left, right, offsets, state, alpha, activation):
    """The forward loop: the states after each step ``(T, [K,] B, N)`` and σ of every step."""
    rates = offsets.new_empty((offsets.shape[0], *state.shape))
    h = offsets.new_empty(offsets.shape)
    p_t = _transposed(left)
    q_t = None if right is None else _transposed(right)
    before, after = (state, *rates.unbind(0)), h.unbind(0)
    for t, c in enumerate(offsets.unbind(0)):
        r = before[t] if q_t is None else torch.matmul(before[t], q_t)
        _multiply_add(c, r, p_t, out=after[t])
        _activate_(after[t], activation)
        torch.lerp(before[t], after[t], alpha, out=before[t + 1])
    return rates, h


def _to_slope_(h: Tensor, alpha: Tensor, activation: str) -> Tensor:
    """Overwrite ``h = σ(x)`` (all steps) with ``α σ'(x)``, in place: a trial's worth of new
    memory per call would cost more than the arithmetic."""
    if activation == "tanh":
        h.mul_(h).sub_(1).neg_()
    elif activation == "relu":
        # torch's relu has derivative 0 at 0; h > 0 reproduces it
        torch.gt(h, 0, out=h)
    elif activation == "softplus":
        # σ'(x) = sigmoid(x) = 1 − e^{−h}
        h.neg_().expm1_().neg_()
    else:
        h.fill_(1)
    return h.mul_(alpha)


def _activate_(x: Tensor, activation: str) -> None:
    if activation == "tanh":
        x.tanh_()
    elif activation == "relu":
        x.relu_()
    elif activation == "softplus":
        x.copy_(torch.nn.functional.softplus(x))


class _EulerScan(torch.autograd.Function):
    """Returns the states after each step ``(T, …)`` and ``α σ'`` of every step (kept for the
    backward pass; not differentiable). The initial state is not an output: a gradient for a
    ``(T + 1)``-step tensor sliced to ``T`` would be a trial-sized zero fill and copy per call."""

    @staticmethod
    def forward(left, right, offsets, state, alpha, activation):
        rates, h = _run(left, right, offsets, state, alpha, activation)
        if any(x is not None and x.requires_grad for x in (left, right, offsets, state)):
            _to_slope_(h, alpha, activation)
        return rates, h

    @staticmethod
    def setup_context(ctx, inputs, output):
        left, right, _, state, alpha, _ = inputs
        rates, slope = output
        ctx.mark_non_differentiable(slope)
        ctx.set_materialize_grads(False)  # no trial-sized zero tensors for unused outputs
        ctx.save_for_backward(left, right, state, rates, slope, alpha)

    @staticmethod
    def vmap(info, in_dims, left, right, offsets, state, alpha, activation):
        """K networks under :func:`torch.func.vmap` (as in ``train_many``): one batched
        product per step instead of K."""
        k = info.batch_size

        def stacked(x: Tensor | None, dim: int | None) -> Tensor | None:
            if x is None:
                return None
            return x.movedim(dim, 0) if dim is not None else x.expand(k, *x.shape)

        left, right = stacked(left, in_dims[0]), stacked(right, in_dims[1])
        state = stacked(state, in_dims[3])
        offsets = stacked(offsets, in_dims[2]).transpose(0, 1)  # a view: steps are read once
        if in_dims[4] is not None:  # per-network α: (K,) or (K, N) → (K, 1, 1) or (K, 1, N)
            alpha = stacked(alpha, in_dims[4]).reshape(k, 1, -1)
        rates, slope = _EulerScan.apply(left, right, offsets, state, alpha, activation)
        return (rates, slope), (1, 1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_rates, _):
        left, right, state, rates, slope, alpha = ctx.saved_tensors
        if grad_rates is None:
            return None, None, None, None, None, None
        grad_drive = torch.empty_like(slope)
        stacked = left.dim() == 3
        # one network: the weights' gradients are products over all steps and trials at the
        # end; K networks: accumulated per step (no copy of the trial into network-major order)
        grad_left = torch.zeros_like(left) if stacked else None
        grad_right = torch.zeros_like(right) if stacked and right is not None else None
        right_t = None if right is None else _transposed(right)
        before = (state, *rates.unbind(0))
        # g: dL/dr_{t+1} summed over later steps; r_{t+1} = (1 − α) r_t + α σ(W r_t + c_t)
        g = torch.zeros_like(state)
        keep = 1 - alpha
        keep_value = float(keep) if keep.dim() == 0 else None
        outer, steps, slopes = grad_rates.unbind(0), grad_drive.unbind(0), slope.unbind(0)
        for t in range(len(steps) - 1, -1, -1):
            g.add_(outer[t])
            d = torch.mul(g, slopes[t], out=steps[t])  # dL/d(drive_t)
            if right is None:
                if stacked:
                    grad_left.baddbmm_(d.transpose(1, 2), before[t])
                back, factor = d, left
            else:
                back, factor = torch.matmul(d, left), right  # d P, then (d P) Q = d W
                if stacked:
                    grad_left.baddbmm_(d.transpose(1, 2), torch.bmm(before[t], right_t))
                    grad_right.baddbmm_(back.transpose(1, 2), before[t])
            if keep_value is not None:
                g = _multiply_add(g, back, factor, beta=keep_value)
            else:
                g = _multiply_add(g.mul_(keep), back, factor)
        if not stacked:
            grad_left, grad_right = _weight_grads(grad_drive, state, rates, left, right)
        return grad_left, grad_right, grad_drive, g, None, None


def _weight_grads(grad_drive, state, rates, left, right):
    """Gradients of ``W`` (or of ``P`` and ``Q``) for one network: ``Σ_t d_tᵀ r_t`` over all
    steps and trials, the first step (from the initial state) apart so that no trial-sized
    copy of the states before each step is made."""
    n = left.shape[0]
    first, rest = grad_drive[0], grad_drive[1:].view(-1, n)
    previous = rates[:-1].view(-1, n)
    if right is None:
        return first.T @ state + rest.T @ previous, None
    # W = P Q: dP = Σ d (Q r)ᵀ and dQ = Σ (d P)ᵀ r, every thin product in the fast orientation
    q_first, q_rest = state @ right.T, _thin(previous, right.T)
    d_first, d_rest = first @ left, _thin(rest, left)
    grad_left = (q_first.T @ first + q_rest.T @ rest).T.contiguous()
    grad_right = d_first.T @ state + d_rest.T @ previous
    return grad_left, grad_right
