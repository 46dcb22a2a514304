"""The fast simulation engine of :class:`~cordsneuro.models.cordsnet.CordsNet`.

:class:`FastSimulation` is mixed into ``CordsNet``: weight-normalised weights are materialised
once per call, the input drive is computed once per stimulus change, blank frames skip the input
convolutions, tensors are ``channels_last``, optionally bf16 convolutions and a compiled step,
gradient checkpointing over time and a cached spontaneous state. It relies on the model's
``materialize``, ``input_drive``, ``_preactivation`` and ``readout`` (the wiring lives in
:mod:`cordsneuro.models.cordsnet`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from cordsneuro._util import flush_denormal, flushing_denormals
from cordsneuro.dynamics import State, Trajectory, per_step_generators
from cordsneuro.models.cordsnet_step import (
    TimeSummedGradients,
    euler_step,
    rates_stay_nonnegative,
)
from cordsneuro.models.patch_conv import conv2d
from cordsneuro.models.protocols import (
    SPONTANEOUS_MS,
    Epoch,
    Protocol,
    VisionTrajectory,
    _as_protocol,
)

__all__ = ["FastSimulation"]

#: Train through :func:`~cordsneuro.models.cordsnet_step.euler_step` where it applies (a test
#: turns it off to compare with autograd's own backward pass).
FUSED_STEP = True

#: Inference without noise runs area by area over blocks of steps
#: (:meth:`FastSimulation._integrate_by_area`) where the step loop would read the kernels from
#: memory at every step for little work: the kernels take more than this many bytes (more
#: than a core's cache) ...
AREA_BLOCK_MIN_KERNEL_BYTES = 8 * 2**20

#: ... and the last area has at most this many positions (batch × height × width). CordsNet-R8
#: at 224 × 224, batch 1 (44 MB of kernels, 49 positions): 1.15–1.2 × faster on one core;
#: batch 8, or CordsNet-R2 (0.4 MB), no faster than the step loop.
AREA_BLOCK_MAX_ROWS = 256

#: A block is as many steps as fit this many bytes of trajectories of all areas (R8 at
#: 224 × 224, batch 1: 21 steps).
AREA_BLOCK_BYTES = 64 * 2**20

#: ... and an area's feedforward convolutions take as many steps of the block at once as keep
#: their input within this many bytes: stacking a 56 × 56 grid over the whole block runs
#: slower per step than small stacks that stay in cache (one core, R8 at 224 × 224: 2 or
#: 4 MB 4 % faster than the whole block, 1 MB slower).
FEEDFORWARD_CHUNK_BYTES = 4 * 2**20


class FastSimulation:
    """Mixin holding CordsNet's protocol-level simulation (:meth:`simulate`), the fast path of
    :meth:`forward` and the spontaneous steady state."""

    def _run(
        self,
        schedule: Sequence[tuple[int, Tensor | None, float]],
        state: State,
        *,
        record_areas: Sequence[int],
        record_outputs: bool,
        record_steps: Callable[[int], bool] | None,
        checkpoint_segment: int | None,
        generator: torch.Generator | None,
        channels_last: bool,
        precision: str,
        compile: bool | str,
        output_steps: Callable[[int], bool] | None = None,
    ) -> tuple[State, list[tuple[int, tuple[Tensor, ...] | None, Tensor | None]]]:
        """Simulate a schedule of ``(n_steps, images or None, input noise std)`` segments.

        Returns the final state and, for every recorded step, ``(t, areas, logits)``."""
        device = state[0].device
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        w = self.materialize(fmt, torch.bfloat16 if precision == "bf16" else None)
        state = tuple(r.contiguous(memory_format=fmt) for r in state)
        alphas = tuple(self.alpha)  # once per call, reused by every step

        # Input drive once per stimulus: segments without noise and with a non-blank image.
        seg_of_step: list[int] = []
        drives: list[tuple[Tensor, Tensor] | None] = []
        for k, (n, images, noise) in enumerate(schedule):
            seg_of_step.extend([k] * n)
            if images is not None and noise == 0:
                drives.append(self.input_drive(images.contiguous(memory_format=fmt), w))
            else:
                drives.append(None)
        noisy = any(images is not None and noise > 0 for _, images, noise in schedule)
        noise_at = per_step_generators(generator, device) if noisy or self.noise_std > 0 else None

        # training without noise: one autograd node per step that keeps one tensor per area,
        # the rates (cordsnet_step); otherwise autograd records the step's operations
        fused = (
            FUSED_STEP
            and torch.is_grad_enabled()
            and not compile
            and self.activation == "relu"
            and self.noise_std == 0
            and w.recurrent[0].dtype == state[0].dtype
        )

        sums = TimeSummedGradients() if fused else None
        # inference without noise: area by area over blocks of steps (the feedforward
        # convolutions of a block at once), the arithmetic of the step loop
        by_area = (
            not torch.is_grad_enabled()
            and not compile
            and noise_at is None
            and _kernels_stream(w, state)
        )
        nonnegative = (fused or by_area) and (
            self.activation == "relu" and rates_stay_nonnegative(state, alphas)
        )
        flushed = False  # set below, inside the block that flushes subnormals

        def kernel(
            state: tuple[Tensor, ...], drive: tuple[Tensor, Tensor] | None, noise_gen
        ) -> tuple[Tensor, ...]:
            pre = self._preactivation(state, w, input_drive=drive)
            return self.update(state, pre, alpha=alphas, generator=noise_gen)

        step_kernel = kernel
        if compile:
            mode = compile if isinstance(compile, str) else None
            compiled = torch.compile(kernel, mode=mode, dynamic=False)
            step_kernel = compiled
            if mode in ("reduce-overhead", "max-autotune") and device.type == "cuda":
                # CUDA graphs reuse their output buffers at the next replay: copy the new
                # state out so that recorded steps stay valid.
                def step_kernel(state, drive, noise_gen):
                    torch.compiler.cudagraph_mark_step_begin()
                    return tuple(t.clone() for t in compiled(state, drive, noise_gen))

        def step_fn(state: tuple[Tensor, ...], t: int) -> tuple[Tensor, ...]:
            k = seg_of_step[t]
            _, images, noise = schedule[k]
            gen = None if noise_at is None else noise_at(t)
            drive = drives[k]
            if images is not None and drive is None:  # a noisy image: new input every step
                xi = torch.randn(images.shape, generator=gen, device=device, dtype=images.dtype)
                drive = self.input_drive((images + noise * xi).contiguous(memory_format=fmt), w)
            if fused and gen is None:
                return euler_step(
                    self, state, w, drive, alphas, sums, first=t == 0,
                    nonnegative=nonnegative, flushed=flushed,
                )  # fmt: skip
            return step_kernel(state, drive, gen)

        output_steps = record_steps if output_steps is None else output_steps

        def record_fn(state: tuple[Tensor, ...], t: int):
            keep_areas = bool(record_areas) and (record_steps is None or record_steps(t))
            keep_out = record_outputs and (output_steps is None or output_steps(t))
            if not (keep_areas or keep_out):
                return None
            logits = None
            if keep_out:
                logits = self.readout(state, w)
            # the area-by-area loop reuses its buffers: keep copies
            areas = tuple(state[a].clone() if by_area else state[a] for a in record_areas)
            return (t, areas if keep_areas else None, logits)

        keep = bool(record_areas) or record_outputs
        with flush_denormal():  # long blanks and delays: rates decaying to 0 go subnormal
            flushed = device.type == "cpu" and flushing_denormals()
            if by_area:
                state, recorded = self._integrate_by_area(
                    state,
                    [drives[k] for k in seg_of_step],
                    w,
                    alphas,
                    transfer=(lambda r: r) if nonnegative else F.relu,
                    record_fn=record_fn if keep else None,
                    channels_last=channels_last,
                )
            else:
                state, recorded = self.integrate(
                    step_fn,
                    state,
                    len(seg_of_step),
                    record_fn=record_fn if keep else None,
                    checkpoint_segment=checkpoint_segment,
                )
        recorded = [r for r in recorded if r is not None]
        outputs = [*state, *(x for _, areas, logits in recorded for x in (*(areas or ()), logits))]
        _flush_in_backward([x for x in outputs if x is not None], w.recurrent)
        state = tuple(r.contiguous() for r in state)
        return state, recorded

    def _integrate_by_area(
        self,
        state: tuple[Tensor, ...],
        drive_of_step: Sequence[tuple[Tensor, Tensor] | None],
        w,
        alphas,
        *,
        transfer: Callable[[Tensor], Tensor],
        record_fn: Callable | None,
        channels_last: bool,
    ) -> tuple[tuple[Tensor, ...], list]:
        """The simulation without gradients and without noise, area by area over blocks of
        steps (``drive_of_step``: the input drive of each step, or None).

        Every area reads the previous state (eq. 3), so the input of area ``i`` over steps
        ``t … t+k−1`` depends only on areas ``i−1`` and ``i−2`` over the same steps. Once those
        have run the block, area ``i``'s feedforward (and skip) convolutions run once on the
        ``k`` steps stacked along the batch, and only its recurrent convolution runs step by
        step, its kernel still in cache from the step before. At batch 1 the kernels of the
        deep areas (up to 9.4 MB each) are used on few positions per step, and in the step
        loop they stream from memory at every use: CordsNet-R8 at 224 × 224 runs a later image
        about 1.2 × faster this way on one core (``benchmarks/vision_speed.py``). The
        arithmetic is that of the step loop except the summation order inside the stacked
        convolutions. ``transfer``: the ReLU between areas (the identity where no rate can be
        negative). ``record_fn(state, t)`` is called after each step with views into buffers
        that the next block overwrites."""
        n_steps = len(drive_of_step)
        depth = len(state)
        batch = state[0].shape[0]
        per_step = [batch * r[0].numel() * r.element_size() for r in state]
        block = max(1, min(n_steps, AREA_BLOCK_BYTES // sum(per_step)))
        buffers = [_steps_buffer(block + 1, r, channels_last) for r in state]
        # the feedforward convolutions of area i take this many steps at once: as many as
        # keep the stacked input of its larger source area (i−1 or i−2) within
        # FEEDFORWARD_CHUNK_BYTES; area 0 has none and stacks only the image's drive
        largest_source = [max(per_step[max(i - 2, 0) : i] or per_step[:1]) for i in range(depth)]
        chunks = [max(1, FEEDFORWARD_CHUNK_BYTES // b) for b in largest_source]
        recorded: list = []
        for t0 in range(0, n_steps, block):
            k = min(block, n_steps - t0)
            trajs = [b[: k + 1] for b in buffers]
            for i in range(depth):
                traj = trajs[i]
                traj[0].copy_(state[i])
                for c0 in range(0, k, chunks[i]):
                    c1 = min(c0 + chunks[i], k)
                    x = [
                        transfer(trajs[j][c0:c1].flatten(0, 1)) if i - 2 <= j < i else None
                        for j in range(depth)
                    ]
                    inp = self._feedforward(i, x, w)
                    drive = None
                    if inp is not None:
                        drive = _plus(inp, w.bias[i]).unflatten(0, (c1 - c0, batch))
                    if i < 2:  # the image's drive of areas 0 and 1, where shown
                        for s, images in enumerate(drive_of_step[t0 + c0 : t0 + c1]):
                            if images is None:
                                continue
                            if drive is None:
                                drive = _steps_buffer(c1 - c0, traj[0], channels_last)
                                drive.copy_(w.bias[i].expand_as(drive))
                            drive[s] += images[i]
                    for s in range(c0, c1):
                        pre = conv2d(traj[s], w.recurrent[i])
                        pre = _plus(pre, w.bias[i] if drive is None else drive[s - c0])
                        self.update(
                            (traj[s],), (pre,), alpha=(alphas[i],), noise=False,
                            out=(traj[s + 1],),
                        )  # fmt: skip
            if record_fn is not None:
                for s in range(k):
                    recorded.append(record_fn(tuple(t[s + 1] for t in trajs), t0 + s))
            state = tuple(t[k] for t in trajs)
        return tuple(r.clone() for r in state), recorded

    def spontaneous_state(
        self,
        batch_size: int = 1,
        duration: float = SPONTANEOUS_MS,
        *,
        generator: torch.Generator | None = None,
        channels_last: bool = True,
        precision: str = "fp32",
    ) -> tuple[Tensor, ...]:
        """The spontaneous state: ``duration`` ms (100 steps) without input from the zero state
        (Section 3), computed without gradients. It does not depend on the image, so without
        private noise it is computed once per set of weights (cached; any in-place change of a
        parameter or a different dt/τ/σ recomputes it) and expanded to ``batch_size``."""
        n = Protocol((Epoch.blank(duration),)).steps(self.dt)[0]
        key = (
            n,
            precision,
            channels_last,
            self.dt,
            self.activation,
            self.prelu_slope,
            tuple((p.data_ptr(), p._version, p.dtype, str(p.device)) for p in self.parameters()),
            tuple(
                (t.data_ptr(), t._version)
                for t in (getattr(self, f"tau_{i}") for i in range(self.depth))
            ),
        )
        deterministic = self.noise_std == 0
        if deterministic and key in self._spontaneous_cache:
            return tuple(r.expand(batch_size, *r.shape[1:]) for r in self._spontaneous_cache[key])
        with torch.no_grad():
            b = 1 if deterministic else batch_size
            state, _ = self._run(
                [(n, None, 0.0)],
                self.initial_state(b),
                record_areas=(),
                record_outputs=False,
                record_steps=None,
                checkpoint_segment=None,
                generator=generator,
                channels_last=channels_last,
                precision=precision,
                compile=False,
            )
        if not deterministic:
            return state
        self._spontaneous_cache.clear()
        self._spontaneous_cache[key] = state
        return tuple(r.expand(batch_size, *r.shape[1:]) for r in state)

    def _resolve_start(
        self, start, batch: int, generator, channels_last, precision
    ) -> tuple[Tensor, ...]:
        if isinstance(start, str):
            if start == "spontaneous":
                return self.spontaneous_state(
                    batch, generator=generator, channels_last=channels_last, precision=precision
                )
            if start == "zero":
                return self.initial_state(batch)
            raise ValueError(f"start must be 'spontaneous', 'zero' or a state (got {start!r})")
        if isinstance(start, Tensor) or not isinstance(start, (tuple, list)):
            raise TypeError(
                f"start must be 'spontaneous', 'zero' or a tuple of {self.depth} tensors"
            )
        state = tuple(start)
        self.check_state(state, "start")
        if state[0].shape[0] != batch:
            raise ValueError(f"start has batch size {state[0].shape[0]}, images have {batch}")
        return state

    def simulate(
        self,
        images: Tensor | Sequence[Tensor] | None,
        protocol: Protocol | Sequence[Epoch] | None = None,
        *,
        start: str | Sequence[Tensor] = "spontaneous",
        batch_size: int | None = None,
        record_areas: Sequence[int] | str | None = None,
        record_outputs: bool = True,
        record_steps: slice | Sequence[int] | None = None,
        output_steps: slice | Sequence[int] | None = None,
        checkpoint_segment: int | None = None,
        generator: torch.Generator | None = None,
        channels_last: bool | None = None,
        precision: str = "fp32",
        compile: bool | str = False,
    ) -> VisionTrajectory:
        """Run a stimulus protocol.

        Parameters
        ----------
        images : Tensor or sequence of Tensor or None
            ``(batch, C, H, W)`` (one image per presentation), ``(batch, K, C, H, W)`` or a
            list of ``K`` tensors ``(batch, C, H, W)`` (image ``k`` is shown in the epochs with
            ``stimulus=k``). ``None`` for protocols without images (then give ``batch_size``).
        protocol : Protocol or sequence of Epoch, optional
            Default :meth:`Protocol.classification` (200 ms of image).
        start : ``"spontaneous"``, ``"zero"`` or state
            Initial state: the spontaneous steady state (default, as in the paper), zeros, or a
            tuple of per-area tensors (e.g. the ``final_state`` of a previous call).
        record_areas : sequence of int, ``"all"`` or None
            Areas whose rates are kept at the recorded steps (default none: memory).
        record_outputs : bool
            Keep the logits at the recorded steps.
        record_steps : slice or sequence of int, optional
            Step indices (0-based, counted from the first step of the protocol) to record;
            default every step.
        output_steps : slice or sequence of int, optional
            Steps at which the logits are kept, when they differ from ``record_steps``
            (e.g. eq. 4 needs logits at 30 steps and every area at 10 others).
        checkpoint_segment : int, optional
            Gradient checkpointing over time (see :meth:`DynamicalRNN.integrate`).
        generator : torch.Generator, optional
            Source of the input white noise and of the private noise.
        channels_last : bool, optional
            Use ``torch.channels_last`` tensors (default: True).
        precision : ``"fp32"`` or ``"bf16"``
            ``bf16``: convolution kernels cast to bfloat16 once per call and their inputs at
            each convolution (fp32 accumulation in the kernels); biases, the Euler update, the
            state and the readout stay in fp32.
        compile : bool or str
            Compile the step with :func:`torch.compile` (a string is its ``mode``;
            ``"reduce-overhead"`` uses CUDA graphs on CUDA).

        Returns
        -------
        VisionTrajectory
        """
        protocol = _as_protocol(protocol)
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16' (got {precision!r})")
        channels_last = True if channels_last is None else bool(channels_last)
        stimuli = self._split_images(images, protocol.n_stimuli)
        if stimuli:
            batch = stimuli[0].shape[0]
            if batch_size is not None and batch_size != batch:
                raise ValueError(
                    f"batch_size ({batch_size}) differs from the images' batch ({batch})"
                )
        else:
            batch = batch_size if batch_size is not None else 1
        n_steps = protocol.steps(self.dt)
        schedule = [
            (
                n,
                None if e.stimulus is None else stimuli[e.stimulus],
                e.noise_std if e.stimulus is not None else 0.0,
            )
            for n, e in zip(n_steps, protocol.epochs)
        ]
        names = [
            e.name or ("blank" if e.stimulus is None else f"image {e.stimulus}")
            for e in protocol.epochs
        ]
        step_names = [name for n, name in zip(n_steps, names) for _ in range(n)]
        state = self._resolve_start(start, batch, generator, channels_last, precision)
        return self._simulate_schedule(
            schedule,
            state,
            step_names,
            record_areas=record_areas,
            record_outputs=record_outputs,
            record_steps=record_steps,
            output_steps=output_steps,
            checkpoint_segment=checkpoint_segment,
            generator=generator,
            channels_last=channels_last,
            precision=precision,
            compile=compile,
        )

    def _simulate_schedule(
        self,
        schedule,
        state,
        step_names,
        *,
        record_areas,
        record_outputs,
        record_steps,
        checkpoint_segment,
        generator,
        channels_last,
        precision,
        compile,
        output_steps=None,
    ) -> VisionTrajectory:
        areas = self._resolve_areas(record_areas)
        n_total = len(step_names)
        selector = _step_selector(record_steps, n_total)
        out_selector = _step_selector(output_steps, n_total) if output_steps is not None else None
        final, recorded = self._run(
            schedule,
            state,
            record_areas=areas,
            record_outputs=record_outputs,
            record_steps=selector,
            output_steps=out_selector,
            checkpoint_segment=checkpoint_segment,
            generator=generator,
            channels_last=channels_last,
            precision=precision,
            compile=compile,
        )
        device = final[0].device
        area_recs = [rec for rec in recorded if rec[1] is not None]
        out_recs = [rec for rec in recorded if rec[2] is not None]
        rates = None
        if area_recs:
            rates = tuple(
                torch.stack([rec[1][j] for rec in area_recs], dim=1).contiguous()
                for j in range(len(areas))
            )
        outputs = torch.stack([rec[2] for rec in out_recs], dim=1) if out_recs else None
        steps = torch.tensor(
            [rec[0] for rec in (area_recs if areas else out_recs)], dtype=torch.long
        )
        out_steps = torch.tensor([rec[0] for rec in out_recs], dtype=torch.long)
        return VisionTrajectory(
            rates=rates,
            outputs=outputs,
            times=self.dt * (steps.to(torch.float32) + 1).to(device),
            final_state=final,
            areas=areas,
            steps=steps,
            output_steps=out_steps,
            epochs=tuple(step_names[t] for t in steps.tolist()),
            dt_ms=self.dt,
        )

    def _resolve_areas(self, record_areas) -> tuple[int, ...]:
        if record_areas is None:
            return ()
        if isinstance(record_areas, str):
            if record_areas != "all":
                raise ValueError(
                    f"record_areas must be 'all', None or area indices (got {record_areas!r})"
                )
            return tuple(range(self.depth))
        areas = tuple(int(a) for a in record_areas)
        bad = [a for a in areas if not 0 <= a < self.depth]
        if bad:
            raise ValueError(
                f"record_areas {bad} out of range: this model has areas 0…{self.depth - 1}"
            )
        return areas

    def _split_images(self, images, n_stimuli: int) -> list[Tensor]:
        if images is None:
            if n_stimuli:
                raise ValueError(f"the protocol shows {n_stimuli} image(s) but images is None")
            return []
        if isinstance(images, Tensor):
            if images.ndim == 4:
                stimuli = [images]
            elif images.ndim == 5:
                stimuli = list(images.unbind(1))
            else:
                raise ValueError(
                    f"images must be (batch, C, H, W) or (batch, K, C, H, W), got {tuple(images.shape)}"
                )
        elif isinstance(images, (list, tuple)):
            stimuli = list(images)
        else:
            raise TypeError(
                f"images must be a Tensor or a list of Tensors, got {type(images).__name__}"
            )
        for k, s in enumerate(stimuli):
            self.check_images(s, f"images[{k}]" if len(stimuli) > 1 else "images")
            if s.ndim != 4 or s.shape[0] != stimuli[0].shape[0]:
                raise ValueError(
                    f"image {k} must be (batch, C, H, W) with the batch of image 0, got {tuple(s.shape)}"
                )
        if n_stimuli > len(stimuli):
            raise ValueError(
                f"the protocol shows image {n_stimuli - 1} but only {len(stimuli)} image(s) were given"
            )
        return [s.to(device=self.device, dtype=self.dtype) for s in stimuli]

    # -- the DynamicalRNN interface --------------------------------------------------------

    def forward(
        self,
        inputs: Tensor | None = None,
        *,
        state: State | None = None,
        n_steps: int | None = None,
        batch_size: int | None = None,
        record: bool = True,
        checkpoint_segment: int | None = None,
        generator: torch.Generator | None = None,
        fast: bool = True,
        channels_last: bool | None = None,
        precision: str = "fp32",
        compile: bool | str = False,
    ) -> Trajectory:
        """Simulate on a ``(batch, time, C, H, W)`` input tensor (see
        :meth:`DynamicalRNN.forward`); every area is recorded when ``record``.

        With ``fast=True`` (default) consecutive identical frames (e.g. an image expanded over
        time, ``images[:, None].expand(-1, T, -1, -1, -1)``, which costs no memory) share one
        input drive and all-zero frames skip the input convolutions; ``fast=False`` runs the
        plain per-step loop of the base class. :meth:`simulate` is the protocol-level API."""
        if not fast:
            return super().forward(
                inputs,
                state=state,
                n_steps=n_steps,
                batch_size=batch_size,
                record=record,
                checkpoint_segment=checkpoint_segment,
                generator=generator,
            )
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16' (got {precision!r})")
        inputs, state, n_time = self.prepare_run(inputs, state, n_steps, batch_size)
        schedule = [(n_time, None, 0.0)] if inputs is None else _group_frames(inputs)
        n_total = sum(n for n, _, _ in schedule)
        traj = self._simulate_schedule(
            schedule,
            tuple(state),
            ["input"] * n_total,
            record_areas="all" if record else None,
            record_outputs=record,
            record_steps=None,
            checkpoint_segment=checkpoint_segment,
            generator=generator,
            channels_last=True if channels_last is None else channels_last,
            precision=precision,
            compile=compile,
        )
        times = self.dt * torch.arange(
            1, n_total + 1, dtype=torch.float32, device=traj.final_state[0].device
        )
        return Trajectory(
            rates=traj.rates, outputs=traj.outputs, times=times, final_state=traj.final_state
        )


# ----------------------------------------------------------------------------- helpers


def _kernels_stream(w, state: tuple[Tensor, ...]) -> bool:
    """Whether the area-by-area loop applies (see :data:`AREA_BLOCK_MIN_KERNEL_BYTES`)."""
    kernels = [*w.recurrent, *w.feedforward, *w.skip]
    kernel_bytes = sum(k.numel() * k.element_size() for k in kernels)
    last = state[-1]
    rows = last.shape[0] * last.shape[-2] * last.shape[-1]
    return kernel_bytes > AREA_BLOCK_MIN_KERNEL_BYTES and rows <= AREA_BLOCK_MAX_ROWS


def _steps_buffer(n: int, like: Tensor, channels_last: bool) -> Tensor:
    """Uninitialised ``(n, *like.shape)`` whose every step ``[t]`` (and every run of steps
    flattened into the batch) has ``like``'s layout."""
    b, c, h, w = like.shape
    if channels_last:
        return like.new_empty(n, b, h, w, c).permute(0, 1, 4, 2, 3)
    return like.new_empty(n, b, c, h, w)


def _plus(a: Tensor, b: Tensor) -> Tensor:
    """``a + b``, in place where ``a`` already has the result's dtype (a bf16 convolution's
    output plus fp32 is a new fp32 tensor)."""
    return a.add_(b) if a.dtype == torch.promote_types(a.dtype, b.dtype) else a + b


def _flush_in_backward(outputs: Sequence[Tensor], recurrent: Sequence[Tensor]) -> None:
    """Flush subnormal floats in the backward pass through a simulation as well (7–11× slower
    CPU arithmetic otherwise; the forward pass is flushed by :func:`flush_denormal`): the
    first gradient to reach a simulated tensor turns flushing on; the gradients of the
    recurrent kernels, which every step uses and which are therefore complete only when the
    backward pass has gone through the whole simulation, restore the mode found now."""
    trainable = [k for k in recurrent if k.requires_grad]
    outputs = [x for x in outputs if x.requires_grad]
    if not (trainable and outputs and torch.is_grad_enabled()):
        return
    before = flushing_denormals()

    def on(grad: Tensor) -> None:
        torch.set_flush_denormal(True)

    def restore(grad: Tensor) -> None:
        torch.set_flush_denormal(before)

    for x in outputs:
        x.register_hook(on)
    for k in trainable:
        k.register_hook(restore)


def _step_selector(record_steps, n_total: int) -> Callable[[int], bool] | None:
    if record_steps is None:
        return None
    if isinstance(record_steps, slice):
        chosen = set(range(n_total)[record_steps])
    else:
        chosen = set()
        for t in record_steps:
            t = int(t)
            if not -n_total <= t < n_total:
                raise ValueError(f"record_steps: step {t} outside the protocol's {n_total} steps")
            chosen.add(t % n_total)
    return chosen.__contains__


def _same_frame(a: Tensor, b: Tensor) -> bool:
    if a.data_ptr() == b.data_ptr() and a.stride() == b.stride():
        return True
    return bool(torch.equal(a, b))


def _group_frames(inputs: Tensor) -> list[tuple[int, Tensor | None, float]]:
    """Split ``(batch, time, ...)`` into runs of identical frames; all-zero frames → None."""
    n_time = inputs.shape[1]
    runs: list[list] = []
    for t in range(n_time):
        frame = inputs[:, t]
        if runs and _same_frame(runs[-1][2], frame):
            runs[-1][0] += 1
        else:
            runs.append([1, None, frame])
    out = []
    for n, _, frame in runs:
        out.append((n, frame if bool(frame.any()) else None, 0.0))
    return out
