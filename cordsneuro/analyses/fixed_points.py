"""Fixed and slow points (Sussillo & Barak 2013) and attractor description (Fig. 1D, Appendix B.4,
Fig. S3).

For a model and a constant input ``h`` the speed of the dynamics at a state is

    q(r) = ½ ‖dr/dt‖²,      dr/dt = (−r + σ(drive(r, h))) / τ      (eq. 2, in 1/ms)

Fixed points have ``q = 0``; slow points have small ``q``. :func:`find_fixed_points` minimises
``q`` from many initial states at once (a batch: CPU or GPU), first with Adam then with L-BFGS
(float64), keeps points under a tolerance, merges duplicates and computes the Jacobian
eigenvalues at each (dense for small networks, matrix-free ARPACK otherwise) to label them
stable or unstable. Initial states come from trajectories (:func:`sample_states`).

:func:`describe_attractor` reads the geometry of a set of slow points: number of clusters,
local (intrinsic) dimension, and for one-dimensional sets whether the manifold is closed (a
ring: circular variable) or open (a line: linear variable); well-separated tight clusters are
discrete point attractors (the 8-state MemoryPro variant).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "FixedPoints",
    "AttractorDescription",
    "sample_states",
    "find_fixed_points",
    "describe_attractor",
]


# ----------------------------------------------------------------------------- helpers


def _flat_states(model: nn.Module, states: Tensor | tuple[Tensor, ...], name: str) -> Tensor:
    if isinstance(states, tuple):
        return model.flatten_state(states)
    if not isinstance(states, Tensor):
        raise TypeError(
            f"{name} must be a Tensor or a tuple of Tensors, got {type(states).__name__}"
        )
    if states.ndim == 2 and states.shape[1] == model.n_neurons:
        return states
    if states.ndim >= 2 and math.prod(states.shape[1:]) == model.n_neurons and model.n_areas == 1:
        return states.reshape(states.shape[0], -1)
    raise ValueError(
        f"{name} must be flat (n, {model.n_neurons}) or (n, *state_shape), got {tuple(states.shape)}"
    )


def _check_constant_input(model: nn.Module, inputs: Tensor | None) -> Tensor | None:
    if inputs is None:
        return None
    if not isinstance(inputs, Tensor):
        raise TypeError(
            f"inputs must be a Tensor (one time step, no batch axis), got {type(inputs).__name__}"
        )
    size = getattr(model, "input_size", None)
    if size is not None and tuple(inputs.shape) != (size,):
        raise ValueError(
            f"inputs must be one constant input of shape ({size},), got {tuple(inputs.shape)}"
        )
    if not bool(torch.isfinite(inputs).all()):
        raise ValueError("inputs must be finite")
    return inputs


def sample_states(
    model: nn.Module,
    n_states: int,
    *,
    rates: Tensor | tuple[Tensor, ...] | None = None,
    inputs: Tensor | None = None,
    duration: float = 2000.0,
    noise_std: float = 0.0,
    seed: int = 0,
) -> Tensor:
    """Initial states for :func:`find_fixed_points`, drawn from trajectories.

    Parameters
    ----------
    model : DynamicalRNN
    n_states : int
        States to draw.
    rates : Tensor or tuple, optional
        Recorded rates ``(trials, time, *state_shape)`` (e.g. ``Trajectory.rates`` of trained
        trials, or only their delay epoch); when omitted the model is simulated for
        ``duration`` ms under the constant ``inputs`` from random states ``N(0, 1)``.
    noise_std : float
        Gaussian jitter added to each drawn state (explores around the trajectories).

    Returns
    -------
    Tensor
        ``(n_states, N)`` flat states.
    """
    if not isinstance(n_states, int) or n_states < 1:
        raise ValueError(f"n_states must be a positive int (got {n_states!r})")
    if not math.isfinite(noise_std) or noise_std < 0:
        raise ValueError(f"noise_std must be finite and >= 0 (got {noise_std!r})")
    g = torch.Generator().manual_seed(seed)
    if rates is None:
        from cordsneuro.analyses.regimes import simulate_autonomous

        inputs = _check_constant_input(model, inputs)
        n_trials = min(n_states, 16)
        if inputs is None:
            flat = simulate_autonomous(
                model, duration=duration, transient=0, n_trials=n_trials, seed=seed
            )
        else:
            n_steps = max(2, int(round(duration / model.dt)))
            start = torch.randn(n_trials, model.n_neurons, generator=g)
            start = start.to(model.device, model.dtype)
            drive = inputs.to(model.device, model.dtype).expand(n_trials, n_steps, *inputs.shape)
            with torch.no_grad():
                traj = model(drive, state=model.unflatten_state(start))
            flat = _flatten_rates(traj.rates)
    else:
        flat = _flatten_rates(rates)
        if flat.shape[-1] != model.n_neurons:
            raise ValueError(
                f"rates hold {flat.shape[-1]} neurons, the model has {model.n_neurons}"
            )
    pool = flat.reshape(-1, flat.shape[-1])
    index = torch.randint(0, pool.shape[0], (n_states,), generator=g)
    states = pool[index].detach().clone()
    if noise_std > 0:
        states = states + noise_std * torch.randn(states.shape, generator=g).to(states)
    return states


def _flatten_rates(rates: Tensor | tuple[Tensor, ...]) -> Tensor:
    """``(trials, time, *shape)`` (or a tuple per area) → ``(trials, time, N)``."""
    if isinstance(rates, tuple):
        return torch.cat([r.reshape(*r.shape[:2], -1) for r in rates], dim=2)
    if rates.ndim < 3:
        raise ValueError(f"rates must be (trials, time, *state_shape), got {tuple(rates.shape)}")
    return rates.reshape(*rates.shape[:2], -1)


# ----------------------------------------------------------------------------- fixed points


@dataclass
class FixedPoints:
    """Fixed / slow points found by :func:`find_fixed_points`.

    Attributes
    ----------
    states : Tensor
        ``(m, N)`` float64 flat states, sorted by increasing ``q``.
    q : Tensor
        ``(m,)`` ``½‖dr/dt‖²`` in 1/ms².
    counts : Tensor
        ``(m,)`` how many optimised candidates merged into each point.
    eigenvalues : np.ndarray or None
        ``(m, k)`` complex: the ``k`` Jacobian eigenvalues (1/ms, eq. 2) with the largest real
        part at each point.
    stable : Tensor or None
        ``(m,)`` bool: every computed eigenvalue has negative real part.
    n_candidates : int
        Initial states optimised.
    candidates_q : Tensor
        ``(n_candidates,)`` final ``q`` of every candidate (before the tolerance).
    inputs : Tensor or None
        The constant input.
    """

    states: Tensor
    q: Tensor
    counts: Tensor
    eigenvalues: np.ndarray | None
    stable: Tensor | None
    n_candidates: int
    candidates_q: Tensor = field(repr=False)
    inputs: Tensor | None = None

    def __len__(self) -> int:
        return self.states.shape[0]


def _speed_fn(model: nn.Module, inputs: Tensor | None):
    def velocity(flat: Tensor) -> Tensor:
        h = (
            None
            if inputs is None
            else inputs.reshape(1, *inputs.shape).expand(flat.shape[0], *inputs.shape)
        )
        return model.velocity(flat, h)

    return velocity


def find_fixed_points(
    model: nn.Module,
    initial_states: Tensor | tuple[Tensor, ...],
    inputs: Tensor | None = None,
    *,
    q_tol: float = 1e-10,
    n_iter: int = 200,
    lr: float = 1e-3,
    lbfgs_iter: int = 500,
    dedup_tol: float = 1e-3,
    n_eigenvalues: int = 10,
    compute_jacobians: bool = True,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> FixedPoints:
    """Find fixed and slow points by minimising ``q = ½‖dr/dt‖²`` (Sussillo & Barak 2013).

    Parameters
    ----------
    model : DynamicalRNN
        Any model; a copy in ``dtype`` (float64 by default) on ``device`` is optimised against.
    initial_states : Tensor or tuple
        ``(n, N)`` flat states (or the model's state structure with batch n), e.g. from
        :func:`sample_states`; all are optimised together as one batch.
    inputs : Tensor, optional
        One constant input ``(input_size,)`` (or ``(*input_shape)``); ``None`` = no input.
    q_tol : float
        Keep points with ``q < q_tol`` (1/ms²; ``q = 1e-10`` is ``‖τ dr/dt‖ ≈ 1.4e-3`` at
        τ = 100 ms). Must be > 0.
    n_iter, lr : int, float
        Adam iterations and learning rate (on the rates).
    lbfgs_iter : int
        Then L-BFGS iterations (strong-Wolfe line search) to polish to machine precision;
        0 skips it (keeps slow points slow, e.g. to sample a continuous attractor).
    dedup_tol : float
        Points closer than ``dedup_tol · √N`` (Euclidean; an RMS difference per neuron) are
        merged, keeping the slowest.
    n_eigenvalues : int
        Jacobian eigenvalues kept per point (largest real part; all of them when
        ``N <= n_eigenvalues``).
    compute_jacobians : bool
        Compute eigenvalues and stability (dense ``eig`` for N ≤ 2,000, ARPACK otherwise).
    progress : bool
        Show a tqdm bar over optimisation iterations.

    Returns
    -------
    FixedPoints
    """
    if not math.isfinite(q_tol) or q_tol <= 0:
        raise ValueError(f"q_tol must be finite and > 0 (got {q_tol!r})")
    if not math.isfinite(dedup_tol) or dedup_tol < 0:
        raise ValueError(f"dedup_tol must be finite and >= 0 (got {dedup_tol!r})")
    for name, value in (("n_iter", n_iter), ("lbfgs_iter", lbfgs_iter)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an int >= 0 (got {value!r})")
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be finite and > 0 (got {lr!r})")
    if not isinstance(n_eigenvalues, int) or n_eigenvalues < 1:
        raise ValueError(f"n_eigenvalues must be a positive int (got {n_eigenvalues!r})")
    inputs = _check_constant_input(model, inputs)
    x0 = _flat_states(model, initial_states, "initial_states")
    if x0.shape[0] < 1 or not bool(torch.isfinite(x0).all()):
        raise ValueError("initial_states must hold at least one finite state")
    if device is None:
        device = model.device
    clone = copy.deepcopy(model).to(device=device, dtype=dtype).requires_grad_(False)
    h = None if inputs is None else inputs.to(device=device, dtype=dtype)
    velocity = _speed_fn(clone, h)
    tau = clone.tau
    tau_mean = (
        float(torch.stack([t.mean() for t in tau]).mean())
        if isinstance(tau, tuple)
        else float(tau.mean())
    )
    scale = tau_mean**2  # optimise the dimensionless ½‖τ dr/dt‖² (same minimisers)

    x = x0.detach().to(device=device, dtype=dtype).clone().requires_grad_(True)
    if n_iter:
        from tqdm.auto import tqdm

        optimizer = torch.optim.Adam([x], lr=lr)
        schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=(1e-2) ** (1.0 / n_iter))
        for _ in tqdm(range(n_iter), desc="fixed points (Adam)", disable=not progress):
            optimizer.zero_grad()
            loss = 0.5 * scale * velocity(x).pow(2).sum()
            loss.backward()
            optimizer.step()
            schedule.step()
    if lbfgs_iter:
        optimizer = torch.optim.LBFGS(
            [x], lr=1.0, max_iter=lbfgs_iter, tolerance_grad=1e-300, tolerance_change=1e-300,
            history_size=50, line_search_fn="strong_wolfe",
        )  # fmt: skip

        def closure() -> Tensor:
            optimizer.zero_grad()
            loss = 0.5 * scale * velocity(x).pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
    x = x.detach()
    with torch.no_grad():
        q_all = 0.5 * velocity(x).pow(2).sum(dim=1)
    finite = torch.isfinite(q_all)
    keep = torch.nonzero(finite & (q_all < q_tol)).flatten()
    keep = keep[torch.argsort(q_all[keep])]
    # greedy de-duplication, slowest first
    radius = dedup_tol * math.sqrt(clone.n_neurons)
    kept: list[int] = []
    counts: list[int] = []
    for i in keep.tolist():
        if kept:
            d = torch.linalg.vector_norm(x[kept] - x[i], dim=1)
            j = int(torch.argmin(d))
            if float(d[j]) <= radius:
                counts[j] += 1
                continue
        kept.append(i)
        counts.append(1)
    states = x[kept].cpu()
    q = q_all[kept].cpu()
    eigenvalues = stable = None
    if compute_jacobians and kept:
        eigenvalues, stable = _stability(clone, x[kept], h, n_eigenvalues)
    return FixedPoints(
        states=states, q=q, counts=torch.tensor(counts, dtype=torch.int64),
        eigenvalues=eigenvalues, stable=stable, n_candidates=x.shape[0],
        candidates_q=q_all.cpu(), inputs=None if inputs is None else inputs.detach().cpu(),
    )  # fmt: skip


def _stability(
    model: nn.Module, points: Tensor, h: Tensor | None, k: int
) -> tuple[np.ndarray, Tensor]:
    from cordsneuro.analyses.spectra import DENSE_LIMIT, jacobian_eigenvalues

    n = model.n_neurons
    k = min(k, n)
    values = np.empty((points.shape[0], k), dtype=np.complex128)
    if n <= DENSE_LIMIT:

        def single(flat: Tensor) -> Tensor:
            hb = None if h is None else h.reshape(1, *h.shape)
            return model.velocity(flat[None], hb)[0]

        for i, point in enumerate(points):
            jac = torch.func.jacfwd(single)(point).detach().cpu().numpy()
            eig = np.linalg.eigvals(jac)
            values[i] = eig[np.argsort(-eig.real)][:k]
    else:
        for i, point in enumerate(points):
            spec = jacobian_eigenvalues(
                model, point[None], h, k=min(k, n - 2), which="LR", dtype=None
            )
            values[i, : len(spec.values)] = spec.values
    stable = torch.from_numpy(values.real.max(axis=1) < 0)
    return values, stable


# ----------------------------------------------------------------------------- attractors


@dataclass
class AttractorDescription:
    """Geometry and stability of a set of fixed / slow points (Appendix B.4, Fig. S3).

    ``kind`` describes the *shape* of the set; whether it is an *attractor* is a separate
    question answered by ``n_stable`` (Jacobian eigenvalues) and ``n_exact`` (speed): a set of
    unstable points is a set of saddles or repellers that trajectories leave, whatever its
    shape. ``str(description)`` says both in words.

    Attributes
    ----------
    kind : {"points", "line", "ring", "manifold"}
        Discrete points (tight, separated clusters), a one-dimensional open manifold (line), a
        one-dimensional closed one (ring) or a higher-dimensional set.
    n_clusters : int
        Single-linkage clusters at distance ``cluster_tol · diameter``.
    intrinsic_dimension : int
        Median over points of the number of local principal components (over each point's
        nearest neighbours) explaining ``variance_threshold`` of the local variance; 0 for
        discrete points.
    closed : bool or None
        For one-dimensional sets: whether the curve closes on itself.
    max_angular_gap : float or None
        Largest gap (radians) between the points' angles around their centroid in the plane of
        the top two principal components (small for a ring).
    explained_variance_ratio : np.ndarray
        Of the global principal components of the points.
    labels : np.ndarray
        ``(m,)`` cluster index per point.
    n_points : int
        m.
    stable : np.ndarray or None
        ``(m,)`` bool, every computed Jacobian eigenvalue has negative real part (from
        :class:`FixedPoints`; ``None`` for bare states or ``compute_jacobians=False``).
    exact : np.ndarray or None
        ``(m,)`` bool, ``q ≤ exact_tol``: a fixed point to numerical tolerance; the others are
        slow points (``None`` for bare states).
    speed : np.ndarray or None
        ``(m,)`` ``‖dr/dt‖ = √(2q)`` in 1/ms.
    drift : float or None
        How far the fastest point moves in ``timescale`` ms (``max speed × timescale``) as a
        fraction of the set's diameter: ≪ 1 means every slow point holds its state over that
        time, so the set acts as a memory on that time scale even where it is not exactly fixed.
    """

    kind: str
    n_clusters: int
    intrinsic_dimension: int
    closed: bool | None
    max_angular_gap: float | None
    explained_variance_ratio: np.ndarray
    labels: np.ndarray
    n_points: int = 0
    stable: np.ndarray | None = None
    exact: np.ndarray | None = None
    speed: np.ndarray | None = None
    drift: float | None = None
    timescale: float | None = None

    @property
    def n_stable(self) -> int | None:
        """Stable points, or ``None`` when stability is unknown."""
        return None if self.stable is None else int(self.stable.sum())

    @property
    def n_exact(self) -> int | None:
        """Exact fixed points (``q ≤ exact_tol``), or ``None`` when speeds are unknown."""
        return None if self.exact is None else int(self.exact.sum())

    @property
    def is_attractor(self) -> bool | None:
        """``False`` when stability is known and no point is stable; ``None`` when unknown."""
        return None if self.stable is None else bool(self.stable.any())

    def __str__(self) -> str:
        shape = {
            "points": f"{self.n_clusters} discrete point(s)",
            "line": "a line (1-D, open)",
            "ring": "a ring (1-D, closed)",
            "manifold": f"a {self.intrinsic_dimension}-D manifold",
        }[self.kind]
        lines = [f"{self.n_points} points forming {shape}."]
        if self.stable is None:
            lines.append("Stability unknown (pass FixedPoints with Jacobians).")
        elif not self.stable.any():
            lines.append(
                f"None of the {self.n_points} points is stable: saddles or repellers, not an "
                "attractor (trajectories leave them)."
            )
        else:
            lines.append(f"{self.n_stable} of {self.n_points} stable.")
        if self.exact is not None:
            lines.append(
                f"{self.n_exact} exact fixed point(s), {self.n_points - self.n_exact} slow "
                f"point(s); max speed {self.speed.max():.3g} /ms"
                + (
                    f", drift over {self.timescale:g} ms = {self.drift:.3g} × the set's diameter."
                    if self.drift is not None
                    else "."
                )
            )
        return " ".join(lines)

    def __repr__(self) -> str:
        return (
            f"AttractorDescription(kind={self.kind!r}, n_points={self.n_points}, "
            f"n_clusters={self.n_clusters}, intrinsic_dimension={self.intrinsic_dimension}, "
            f"closed={self.closed}, n_stable={self.n_stable}, n_exact={self.n_exact}, "
            f"drift={self.drift if self.drift is None else f'{self.drift:.3g}'})"
        )


def describe_attractor(
    points: Tensor | np.ndarray | FixedPoints,
    *,
    cluster_tol: float = 0.1,
    tightness: float = 0.25,
    variance_threshold: float = 0.9,
    n_neighbors: int = 8,
    n_components: int = 5,
    max_gap: float = math.pi / 2,
    exact_tol: float = 1e-20,
    timescale: float = 1000.0,
) -> AttractorDescription:
    """Describe a set of fixed / slow points: its shape (points, line, ring, manifold), how
    many points are stable, and which are exact fixed points rather than slow points.

    Shape rules (each a parameter):

    1. cluster the points by single linkage at ``cluster_tol × diameter``;
    2. ``points`` when there are several clusters and each is tight (RMS radius below
       ``tightness ×`` the smallest distance between cluster centres), or a single cluster of
       negligible extent, or fewer than 3 points;
    3. otherwise the intrinsic dimension is the median number of local principal components
       (over ``max(n_neighbors, m // 10)`` nearest neighbours, in the space of the
       ``n_components`` leading global components, which removes isotropic noise) explaining
       ``variance_threshold`` of the local variance; a one-dimensional set is a ``ring`` when
       its angles around the centroid in the top-two-PC plane leave no gap above ``max_gap``
       (closed), else a ``line``; higher dimensions give ``manifold``.

    Stability and speed (from :class:`FixedPoints`): a point is *stable* when every computed
    Jacobian eigenvalue has negative real part, and *exact* when ``q ≤ exact_tol``.

    Which result to believe. Fully polished points (``find_fixed_points`` with its default
    L-BFGS) are where the flow truly stops; a trained network's continuous attractor is only
    approximate, so polishing collapses it onto a few exact points, often mostly saddles (a
    handful of unstable points). Lightly optimised points (``n_iter=0, lbfgs_iter=20,
    q_tol=1e-6``) are slow points that trace the slow manifold along which the state moves
    during a task (e.g. dozens of stable points on a ring or a 2-D sheet). Both are right about
    different questions: the exact points and their stability tell where the network ends up
    after a long time; the slow manifold tells what it holds over the task's time scale, and
    it is a memory on that time scale when ``drift`` (movement of its fastest point over
    ``timescale`` ms, relative to the set's size) is small. A set with no stable point is never
    an attractor, whatever ``kind`` says.

    Parameters
    ----------
    points : Tensor, ndarray or FixedPoints
        ``(m, N)`` flat states or ``(m, *state_shape)``, ``m >= 1``. Only
        :class:`FixedPoints` carry the speeds and stability.
    exact_tol : float
        ``q = ½‖dr/dt‖²`` (1/ms²) below which a point counts as an exact fixed point
        (1e-20: ‖dr/dt‖ ≈ 1.4e-10 /ms, i.e. a fixed point to the precision L-BFGS reaches in
        float64; slow points from a few iterations have q ≈ 1e-12 … 1e-6).
    timescale : float
        Time (ms) over which ``drift`` is measured, e.g. the task's delay.
    """
    q = stable = None
    if isinstance(points, FixedPoints):
        q = points.q.double().cpu().numpy()
        stable = None if points.stable is None else points.stable.cpu().numpy().astype(bool)
        points = points.states
    x = np.asarray(
        points.detach().cpu().numpy() if isinstance(points, Tensor) else points, dtype=np.float64
    )
    if x.ndim > 2:
        x = x.reshape(x.shape[0], -1)  # (m, *state_shape) → (m, N)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"points must be (m >= 1, N), got {x.shape}")
    for name, value in (("cluster_tol", cluster_tol), ("tightness", tightness),
                        ("variance_threshold", variance_threshold), ("max_gap", max_gap),
                        ("exact_tol", exact_tol), ("timescale", timescale)):  # fmt: skip
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be finite and > 0 (got {value!r})")
    if not isinstance(n_neighbors, int) or n_neighbors < 2:
        raise ValueError(f"n_neighbors must be an int >= 2 (got {n_neighbors!r})")
    if not isinstance(n_components, int) or n_components < 2:
        raise ValueError(f"n_components must be an int >= 2 (got {n_components!r})")
    from scipy.spatial.distance import pdist

    m = len(x)
    distances = pdist(x)
    diameter = float(distances.max()) if distances.size else 0.0
    speed = None if q is None else np.sqrt(2 * np.clip(q, 0, None))
    status = {
        "n_points": m,
        "stable": stable,
        "exact": None if q is None else q <= exact_tol,
        "speed": speed,
        "drift": None
        if speed is None or diameter == 0
        else float(speed.max() * timescale / diameter),
        "timescale": None if speed is None else float(timescale),
    }
    return AttractorDescription(
        *_shape(x, diameter, cluster_tol, tightness, variance_threshold, n_neighbors,
                n_components, max_gap),
        **status,
    )  # fmt: skip


def _shape(
    x: np.ndarray,
    diameter: float,
    cluster_tol: float,
    tightness: float,
    variance_threshold: float,
    n_neighbors: int,
    n_components: int,
    max_gap: float,
) -> tuple:
    """The geometric fields of :class:`AttractorDescription` (rules of :func:`describe_attractor`)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist, squareform

    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    var = s**2
    ratio = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    if diameter == 0:
        return "points", 1, 0, None, None, ratio, np.zeros(len(x), dtype=int)
    if len(x) < 3:  # one or two distinct points
        return "points", len(x), 0, None, None, ratio, np.arange(len(x))
    labels = (
        fcluster(linkage(x, method="single"), t=cluster_tol * diameter, criterion="distance") - 1
    )
    n_clusters = int(labels.max() + 1)
    if n_clusters >= 2:
        centres = np.stack([x[labels == c].mean(axis=0) for c in range(n_clusters)])
        spread = max(
            float(np.sqrt(((x[labels == c] - centres[c]) ** 2).sum(axis=1).mean()))
            for c in range(n_clusters)
        )
        separation = float(pdist(centres).min())
        if spread < tightness * separation:
            return "points", n_clusters, 0, None, None, ratio, labels
    # local dimension, in the space of the leading global components (denoised)
    reduced = centred @ vt[:n_components].T
    square = squareform(pdist(reduced))
    k = min(max(n_neighbors, len(x) // 10), len(x) - 1)
    dims = []
    for i in range(len(x)):
        neighbours = reduced[np.argsort(square[i])[: k + 1]]
        local = np.linalg.svd(neighbours - neighbours.mean(axis=0), compute_uv=False) ** 2
        if local.sum() == 0:
            dims.append(0)
            continue
        dims.append(int(np.searchsorted(np.cumsum(local) / local.sum(), variance_threshold) + 1))
    dimension = int(np.median(dims))
    closed = gap = None
    kind = "manifold"
    if dimension <= 1:
        plane = centred @ vt[:2].T
        angles = np.sort(np.arctan2(plane[:, 1], plane[:, 0]))
        gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
        gap = float(gaps.max())
        closed = gap < max_gap
        kind = "ring" if closed else "line"
        dimension = 1
    return kind, n_clusters, dimension, closed, gap, ratio, labels
