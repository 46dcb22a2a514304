"""A multi-area model: a frozen CordsNet front end feeding a fully connected RNN (paper
Section 5, Fig. 5).

The last area of a trained :class:`~cordsneuro.models.CordsNet` (any depth), pooled over space,
drives a :class:`~cordsneuro.models.FullRNN` (512 neurons by default) with a linear readout;
only the RNN trains. The whole is one :class:`~cordsneuro.dynamics.DynamicalRNN` whose state is
the tuple ``(front-end area 0, …, front-end area L−1, RNN)``, so ``Trajectory``, fixed points,
spectra and PCA work on it::

    τ_v dr_l/dt = −r_l + ReLU(Conv_rec,l r_l + b_l + Conv_inp,l h_l)       (CordsNet, eq. 3)
    τ   dx/dt   = −x + tanh(W_rec x + b + W_inp (f(r) − f₀))               (the RNN)
    f(r) = AvgPool( ReLU(r_L−1) + ReLU(r_L−2) )      (global, or to a p × p grid)

``f`` is the feature the CordsNet's own classifier reads (Table S3, last row) and ``f₀`` its
value in the spontaneous state (so a blank screen gives the RNN no input). Each area keeps its
own clock: one model step lasts the RNN's ``dt`` (20 ms for the cognitive tasks), during which
the front end takes ``dt / dt_front`` Euler steps of its own ``dt`` (2 ms, τ_v = 10 ms) on the
step's image, then the RNN takes one step on the front end's new features.

Training cost is dominated by the RNN: the front end runs without gradient (in bfloat16 on a
GPU that has it), from its spontaneous state, and its features for a whole trial are cached
(keyed by the trial's pixels), so a stimulus sequence that comes back (a fixed training set,
the held-out set evaluated again and again) is simulated once.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from cordsneuro.dynamics import MODEL_REGISTRY, DynamicalRNN, State, Trajectory

__all__ = ["MultiAreaModel"]

#: The RNN of Section 5: 512 neurons.
N_NEURONS = 512


def _spec(model: DynamicalRNN) -> dict[str, Any]:
    spec = {"class": type(model).__name__, "arguments": model.config}
    meta = getattr(model, "meta", None)
    if meta:
        spec["meta"] = meta
    return spec


def _build(spec: Mapping[str, Any]) -> DynamicalRNN:
    import cordsneuro.models.cordsnet  # noqa: F401  (register the classes)
    import cordsneuro.models.recurrent  # noqa: F401

    if spec.get("class") not in MODEL_REGISTRY:
        raise ValueError(f"unknown model class {spec.get('class')!r} in {dict(spec)}")
    model = MODEL_REGISTRY[spec["class"]](**spec["arguments"])
    if "meta" in spec:
        model.meta = dict(spec["meta"])
    return model


class MultiAreaModel(DynamicalRNN):
    """A frozen CordsNet front end whose pooled last area drives a trained RNN.

    Parameters
    ----------
    front_end : CordsNet
        A (trained) CordsNet of any depth; frozen here (``requires_grad_(False)``). If it has
        ``meta["preprocessing"]`` (``mean``, ``std`` per channel), raw images in [0, 1] are
        normalised with it before they enter.
    rnn : FullRNN or other single-area RNN, optional
        The trained area, whose ``input_size`` equals the front end's last-area channels and
        whose ``dt`` is a whole multiple of the front end's. Default: a ``FullRNN`` of
        ``n_neurons`` (512) neurons, τ = 100 ms, dt = 20 ms, tanh, ``output_size`` outputs.
    output_size : int, optional
        Readout width of the default RNN.
    n_neurons : int
        Neurons of the default RNN (Section 5: 512).
    pool_size : int
        The last area is average-pooled to a ``pool_size × pool_size`` grid (default 1: the
        global average the CordsNet classifier reads, as in the paper). A small front end
        (R2 on 32 × 32 images, small receptive fields) is nearly translation-equivariant, so
        a global average discards where things are; ``pool_size=2`` keeps the quadrant.
    seed : int, optional
        Seed of the default RNN's initialisation.
    cache_mb : float
        Memory for cached front-end features (per trial: ``time × channels`` floats and the
        front end's final state); 0 disables the cache.
    precision : ``"auto"``, ``"fp32"`` or ``"bf16"``
        The front end's convolutions: ``"auto"`` is bf16 on a CUDA device that supports it,
        fp32 otherwise.
    **rnn_kwargs
        Further arguments of the default ``FullRNN`` (``tau``, ``dt``, ``gain``,
        ``activation``, ``noise_std``).
    """

    def __init__(
        self,
        front_end: Any,
        rnn: Any = None,
        *,
        output_size: int | None = None,
        n_neurons: int = N_NEURONS,
        seed: int | None = None,
        pool_size: int = 1,
        cache_mb: float = 1024.0,
        precision: str = "auto",
        **rnn_kwargs: Any,
    ) -> None:
        from cordsneuro.models.cordsnet import CordsNet
        from cordsneuro.models.recurrent import FullRNN, SingleAreaRNN

        if isinstance(front_end, Mapping):
            front_end = _build(front_end)
        if isinstance(rnn, Mapping):
            rnn = _build(rnn)
        if not isinstance(front_end, CordsNet):
            raise TypeError(
                f"front_end must be a CordsNet (e.g. cordsneuro.load(dir) of a trained one), "
                f"got {type(front_end).__name__}"
            )
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size must be an int >= 1 (got {pool_size!r})")
        if pool_size > min(front_end.sizes[-1]):
            raise ValueError(
                f"pool_size ({pool_size}) exceeds the last area's grid {front_end.sizes[-1]}"
            )
        channels = front_end.channels[-1] * pool_size**2
        if rnn is None:
            if output_size is None:
                raise ValueError("give output_size (the task's number of outputs) or an rnn")
            kwargs = {"tau": 100.0, "dt": 20.0, "activation": "tanh", **rnn_kwargs}
            rnn = FullRNN(n_neurons, channels, output_size, seed=seed, **kwargs)
        elif rnn_kwargs or output_size is not None:
            raise TypeError("output_size and RNN arguments are only used when rnn is None")
        if not isinstance(rnn, SingleAreaRNN):
            raise TypeError(
                f"rnn must be a single-area RNN (FullRNN, LowRankRNN, SparseRNN), got "
                f"{type(rnn).__name__}"
            )
        if rnn.input_size != channels:
            raise ValueError(
                f"rnn.input_size is {rnn.input_size}, but the front end gives {channels} "
                f"features ({front_end.channels[-1]} channels × {pool_size}² pooled positions): "
                f"build the RNN with input_size={channels}"
            )
        ratio = rnn.dt / front_end.dt
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ValueError(
                f"the RNN's dt ({rnn.dt} ms) must be a whole multiple of the front end's dt "
                f"({front_end.dt} ms)"
            )
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16' (got {precision!r})")
        if not (isinstance(cache_mb, (int, float)) and math.isfinite(cache_mb) and cache_mb >= 0):
            raise ValueError(f"cache_mb must be a number >= 0 (got {cache_mb!r})")
        super().__init__(dt=rnn.dt, activation=rnn.activation, noise_std=rnn.noise_std)
        self.front_end = front_end.eval().requires_grad_(False)
        self.rnn = rnn
        self.substeps = int(round(ratio))
        self.pool_size = pool_size
        self.state_shapes = (*front_end.state_shapes, *rnn.state_shapes)
        self.output_size = rnn.output_size
        self.precision = precision
        self.cache_mb = float(cache_mb)
        self.config = {
            "front_end": _spec(front_end),
            "rnn": _spec(rnn),
            "pool_size": self.pool_size,
            "cache_mb": self.cache_mb,
            "precision": precision,
        }
        self.meta: dict = {}
        prep = (getattr(front_end, "meta", None) or {}).get("preprocessing", {})
        c = front_end.in_channels
        mean = torch.as_tensor(prep.get("mean", [0.0] * c), dtype=torch.float32)
        std = torch.as_tensor(prep.get("std", [1.0] * c), dtype=torch.float32)
        if mean.numel() not in (1, c) or std.numel() not in (1, c) or not bool((std > 0).all()):
            raise ValueError(
                f"front_end.meta['preprocessing'] must give mean and std > 0 for {c} channel(s)"
            )
        self.register_buffer("mean", mean.reshape(-1, 1, 1).expand(c, 1, 1).clone(), False)
        self.register_buffer("std", std.reshape(-1, 1, 1).expand(c, 1, 1).clone(), False)
        # the features' scale (one number, saved with the weights; see calibrate)
        self.register_buffer("input_gain", torch.ones(()))
        self._cache: OrderedDict[bytes, tuple[Tensor, tuple[Tensor, ...]]] = OrderedDict()
        self._cache_bytes = 0
        self._baseline: tuple[Any, Tensor] | None = None
        self.cache_hits = 0
        self.cache_misses = 0

    # -- time ------------------------------------------------------------------------------

    @property
    def tau(self) -> State:
        return (*self.front_end.tau, self.rnn.tau)

    @property
    def alpha(self) -> State:
        """Per area, the fraction of the new drive let in per Euler step (each area's own
        ``dt / τ``)."""
        return (*self.front_end.alpha, self.rnn.alpha)

    def _precision(self) -> str:
        if self.precision != "auto":
            return self.precision
        device = self.mean.device
        cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return "bf16" if cuda_bf16 else "fp32"

    # -- pieces ----------------------------------------------------------------------------

    def preprocess(self, images: Tensor) -> Tensor:
        """Normalise raw images in [0, 1] ``(..., C, H, W)`` as the front end was trained."""
        self.front_end.check_images(images)
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)

    def features(self, front_state: tuple[Tensor, ...]) -> Tensor:
        """``f(r) − f₀``: the pooled last area ``(batch, channels · pool_size²)`` minus its
        spontaneous value."""
        pooled = self._pool(front_state)
        return (pooled - self.baseline().to(pooled.dtype)) * self.input_gain.to(pooled.dtype)

    def _pool(self, front_state: tuple[Tensor, ...]) -> Tensor:
        x = F.relu(front_state[-1]) + F.relu(front_state[-2])
        lead = x.shape[:-3]
        x = F.adaptive_avg_pool2d(x.reshape(-1, *x.shape[-3:]), self.pool_size)
        return x.reshape(*lead, -1)

    def baseline(self) -> Tensor:
        """``f₀``: the pooled last area in the front end's spontaneous state ``(channels,)``."""
        key = tuple((p._version, p.dtype, p.device) for p in self.front_end.parameters())
        if self._baseline is None or self._baseline[0] != key:
            state = self.front_end.spontaneous_state(1, precision=self._precision())
            self._baseline = (key, self._pool(tuple(s.float() for s in state))[0].float())
        return self._baseline[1]

    def initial_state(self, batch_size: int) -> State:
        """The front end's spontaneous state and a zero RNN state."""
        state = self.front_end.spontaneous_state(batch_size, precision=self._precision())
        return (*(s.contiguous() for s in state), self.rnn.initial_state(batch_size))

    def clear_cache(self) -> None:
        """Forget the cached front-end features (needed only if the front end's weights were
        changed in place)."""
        self._cache.clear()
        self._cache_bytes = 0

    # -- the DynamicalRNN interface ----------------------------------------------------------

    def _split(self, state: State) -> tuple[tuple[Tensor, ...], Tensor]:
        return tuple(state[:-1]), state[-1]

    def drive(self, state: State, inputs: Tensor | None) -> State:
        front, x = self._split(state)
        images = None if inputs is None else self.preprocess(inputs)
        return (*self.front_end.drive(front, images), self.rnn.drive(x, self.features(front)))

    def velocity(self, state: State, inputs: Tensor | None = None) -> State:
        """dr/dt of every area (each with its own τ and activation), without noise; ``state``
        structured or flat ``(batch, N)`` (returned in the same form)."""
        flat = self.is_flat(state)
        front, x = self._split(self.unflatten_state(state) if flat else state)
        images = None if inputs is None else self.preprocess(inputs)
        v = (*self.front_end.velocity(front, images), self.rnn.velocity(x, self.features(front)))
        return self.flatten_state(v) if flat else v

    def step(
        self,
        state: State,
        inputs: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        noise: bool = True,
    ) -> State:
        """One model step: ``substeps`` Euler steps of the front end on the image (without
        gradient), then one Euler step of the RNN on the front end's new features."""
        flat = self.is_flat(state)
        front, x = self._split(self.unflatten_state(state) if flat else state)
        images = None if inputs is None else self.preprocess(inputs)
        with torch.no_grad():
            for _ in range(self.substeps):
                front = tuple(self.front_end.step(front, images, generator=generator, noise=noise))
        new = (*front, self.rnn.step(x, self.features(front), generator=generator, noise=noise))
        return self.flatten_state(new) if flat else new

    def readout(self, state: State) -> Tensor:
        return self.rnn.readout(state[-1])

    def check_inputs(self, inputs: Tensor) -> None:
        super().check_inputs(inputs)
        if inputs.ndim != 5:
            c, (h, w) = self.front_end.in_channels, self.front_end.image_size
            raise ValueError(
                f"inputs must be images (batch, time, {c}, {h}, {w}); got {tuple(inputs.shape)}"
            )
        self.front_end.check_images(inputs, "inputs")

    def forward(
        self,
        inputs: Tensor | None = None,
        *,
        state: State | None = None,
        n_steps: int | None = None,
        batch_size: int | None = None,
        record: bool = True,
        record_front_end: bool = False,
        checkpoint_segment: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Trajectory:
        """Simulate on images ``(batch, time, C, H, W)`` in [0, 1], one model step per frame.

        By default the front end starts from its spontaneous state, runs without gradient
        (its per-trial features are cached) and ``Trajectory.rates`` holds the RNN's rates
        ``(batch, time, n_neurons)``. With ``record_front_end=True`` (or a given ``state``)
        every area is simulated step by step: ``rates`` is then one tensor per area, as the
        state, and ``final_state`` the whole state.
        """
        if record_front_end or state is not None or inputs is None:
            traj = super().forward(
                inputs,
                state=state,
                n_steps=n_steps,
                batch_size=batch_size,
                record=record,
                checkpoint_segment=checkpoint_segment,
                generator=generator,
            )
            if record and not record_front_end:
                traj.rates = traj.rates[-1]
            return traj
        self.check_inputs(inputs)
        if n_steps is not None and n_steps != inputs.shape[1]:
            raise ValueError(f"n_steps ({n_steps}) must equal the inputs' time length")
        feats, front_final = self.front_end_features(inputs)
        traj = self.rnn(
            (feats * self.input_gain.cpu()).to(self.rnn.w_inp.device, self.rnn.w_inp.dtype),
            record=record,
            checkpoint_segment=checkpoint_segment,
            generator=generator,
        )
        traj.final_state = (*front_final, traj.final_state)
        return traj

    # -- the front end, cached ---------------------------------------------------------------

    @torch.no_grad()
    def front_end_features(self, inputs: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        """``f(r) − f₀`` (before ``input_gain``) for every step, ``(batch, time, features)``,
        and the front end's
        final state, for raw images ``(batch, time, C, H, W)`` from the spontaneous state
        (cached per trial)."""
        device = self.mean.device
        rows = inputs.detach().to("cpu", torch.float32).contiguous()
        keys = [hashlib.blake2b(r.numpy().tobytes(), digest_size=16).digest() for r in rows]
        keys = [k + str(tuple(inputs.shape[1:])).encode() for k in keys]
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        self.cache_hits += len(keys) - len(missing)
        self.cache_misses += len(missing)
        computed: dict[int, tuple[Tensor, tuple[Tensor, ...]]] = {}
        if missing:
            unique = list(dict.fromkeys(keys[i] for i in missing))
            first = [keys.index(k) for k in unique]
            feats, final = self._simulate_front_end(inputs[first].to(device))
            for j, i in enumerate(first):
                entry = (feats[j], tuple(s[j] for s in final))
                computed[i] = entry
                self._store(keys[i], entry)
        out_feats, out_final = [], []
        by_key = {keys[i]: e for i, e in computed.items()}
        for k in keys:
            entry = by_key.get(k) or self._cache[k]
            if k in self._cache:
                self._cache.move_to_end(k)
            out_feats.append(entry[0])
            out_final.append(entry[1])
        feats = torch.stack(out_feats).to(device)
        final = tuple(torch.stack(parts).to(device) for parts in zip(*out_final))
        return feats, final

    def _store(self, key: bytes, entry: tuple[Tensor, tuple[Tensor, ...]]) -> None:
        size = entry[0].numel() * 4 + sum(s.numel() * 4 for s in entry[1])
        if size > self.cache_mb * 2**20:
            return
        self._cache[key] = (entry[0].cpu(), tuple(s.cpu() for s in entry[1]))
        self._cache_bytes += size
        while self._cache_bytes > self.cache_mb * 2**20:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= old[0].numel() * 4 + sum(s.numel() * 4 for s in old[1])

    def _simulate_front_end(self, inputs: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Run the front end over the frames (one image held for ``substeps`` of its steps per
        model step) through its fast path: identical consecutive frames form one epoch."""
        from cordsneuro.models.protocols import Epoch, Protocol

        fe = self.front_end
        images = self.preprocess(inputs.to(self.mean.dtype))
        n_time = images.shape[1]
        runs: list[list[int]] = []  # [first step, length]
        for t in range(n_time):
            if runs and torch.equal(images[:, t], images[:, runs[-1][0]]):
                runs[-1][1] += 1
            else:
                runs.append([t, 1])
        epochs = tuple(
            Epoch.image(n * self.substeps * fe.dt, stimulus=k, name=f"frame {t0}")
            for k, (t0, n) in enumerate(runs)
        )
        stimuli = images[:, [t0 for t0, _ in runs]]
        last = (fe.depth - 2, fe.depth - 1)
        traj = fe.simulate(
            stimuli,
            Protocol(epochs),
            record_areas=last,
            record_outputs=False,
            record_steps=[(t + 1) * self.substeps - 1 for t in range(n_time)],
            precision=self._precision(),
        )
        feats = self._pool(tuple(r.float() for r in traj.rates)) - self.baseline()
        return feats.float().cpu(), tuple(s.float().cpu() for s in traj.final_state)

    def calibrate(self, inputs: Tensor) -> float:
        """Set ``input_gain`` so that the RNN's input has unit standard deviation over the
        trials ``inputs (batch, time, C, H, W)`` (the front end's pooled rates are small, e.g.
        ~0.01, which would leave the RNN's N(0, 1/input_size) input weights a long way to
        grow). Returns the gain; it is saved with the weights."""
        feats, _ = self.front_end_features(inputs)
        std = float(feats.std())
        if not (math.isfinite(std) and std > 0):
            raise ValueError("the front end's features do not vary over these inputs")
        with torch.no_grad():
            self.input_gain.fill_(1.0 / std)
        return 1.0 / std


MODEL_REGISTRY["MultiAreaModel"] = MultiAreaModel
