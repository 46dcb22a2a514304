"""Speed and memory of CordsNet simulation: ours vs the published code, side by side.

Prints, for the published protocol (100 spontaneous + 100 stimulus steps, Section 3):

* inference: seconds per batch and images/s (ours: the first batch, which also computes the
  spontaneous state, and following batches, which reuse it; the published code recomputes it
  for every batch), peak additional memory, and the largest relative logit difference; on a
  CPU also the time spent inside the convolutions of a later image alone (a bound: published
  / that is the most any implementation with these fp32 kernels and our MACs can reach);
* training: seconds per step (eq. 4 loss, forward + backward through 300 steps) and peak
  additional memory, ours with gradient checkpointing over time.

With ``--json out.jsonl`` every measurement is also appended to ``out.jsonl`` as one JSON line
(code, configuration, seconds, peak bytes, ratios against the published code of the same run,
the machine's load average); ``--markdown out.jsonl`` prints the tables of docs/vision.md from
such a file.

Each measurement runs in a fresh process (peak memory is then that measurement's alone: the
rise of the process's peak resident set on CPU, ``torch.cuda.max_memory_allocated`` on CUDA).
Both models get the same random weights (the authors' class initialised, converted to ours).

Examples::

    git --git-dir=/path/to/cordsnet/.git --work-tree=/tmp/cordsnet-ref checkout HEAD -- \\
        cordsnet.py utils.py training/class_rnn_5_final.py
    python benchmarks/vision_speed.py --reference /tmp/cordsnet-ref --threads 2
    python benchmarks/vision_speed.py --device cuda --batch 64 --precision bf16 --compile \\
        --reference /tmp/cordsnet-ref
    python benchmarks/vision_speed.py --reference /tmp/cordsnet-ref --threads 1 --json speed.jsonl
    python benchmarks/vision_speed.py --markdown speed.jsonl
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing as mp
import os
import re
import resource
import sys
import time


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _proc_bytes(path: str, field: str) -> int | None:
    """A ``field: N kB`` line of a Linux /proc file, in bytes (None where there is none)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _peak_rss_bytes() -> int:
    """The peak resident set since the process started or :func:`_reset_peak_rss`."""
    peak = _proc_bytes("/proc/self/status", "VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak_rss() -> None:
    """Give freed heap pages back to the OS (``malloc_trim``, glibc) and start the peak
    resident set afresh (Linux: ``5`` to ``/proc/self/clear_refs``), so that memory a
    warm-up call left cached is counted again when the measured call uses it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _load_checkpointing() -> None:
    """The first call of non-reentrant ``torch.utils.checkpoint`` imports modules worth about
    160 MB of resident memory: a one-off cost of the process, kept out of the baseline."""
    import torch
    import torch.utils.checkpoint

    x = torch.ones(2, requires_grad=True)
    torch.utils.checkpoint.checkpoint(lambda t: t * 2, x, use_reentrant=False).sum().backward()


#: The area sizes the published classes hard-code (for 224 × 224 images).
_PUBLISHED_SIZES = re.compile(r"sizes\s*=\s*\[\s*56\s*,\s*56\s*,\s*28\s*,\s*28\s*,\s*14\s*,"
                              r"\s*14\s*,\s*7\s*,\s*7\s*\]")  # fmt: skip


def _reference_class(path: str, training: bool, image_size: int = 224):
    """The authors' inference class (cordsnet.py) or training class (eq. 4,
    training/class_rnn_5_final.py). Their area sizes are a literal for 224 × 224 images; for
    another ``image_size`` the module is loaded with that literal (and nothing else) replaced
    by the sizes of that image, so that their code runs unchanged on it."""
    import types

    from cordsneuro.models.wiring import area_sizes

    file = (
        os.path.join(path, "training", "class_rnn_5_final.py")
        if training
        else os.path.join(path, "cordsnet.py")
    )
    with open(file) as f:
        source = f.read()
    if image_size != 224:
        sizes = [h for h, _ in area_sizes(image_size, 8)]
        source, n = _PUBLISHED_SIZES.subn(f"sizes = {sizes}", source)
        if n == 0:
            raise RuntimeError(f"{file}: no area-size literal to replace")
    module = types.ModuleType("published_cordsnet")
    module.__file__ = file
    sys.path.insert(0, os.path.dirname(file))  # their own imports (utils)
    try:
        exec(compile(source, file, "exec"), module.__dict__)
    finally:
        sys.path.pop(0)
    return module.cordsnet


def _models(args, training: bool):
    import torch

    from cordsneuro.models import CordsNet
    from cordsneuro.models.pretrained import load_published_weights

    torch.manual_seed(args.seed)
    ours = CordsNet(
        args.depth, num_classes=args.classes, image_size=args.image_size, seed=args.seed
    )
    ref = None
    if args.reference:
        dataset = {1000: "imagenet", 100: "cifar100", 10: "cifar10"}[args.classes]
        ref = _reference_class(args.reference, training, args.image_size)(dataset, args.depth)
        g = torch.Generator().manual_seed(args.seed)
        with torch.no_grad():  # non-zero biases (the class initialises them to 0)
            for b in ref.conv_bias:
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
        load_published_weights(ours, ref.state_dict())
    return ours, ref


#: A first call shorter than this is a warm-up and not timed (one-off costs: kernel selection,
#: allocation; 1.3 s against 0.2 s at CordsNet-R2 32 × 32); longer ones are timed, as their
#: one-off costs are a small part of them.
WARMUP_BELOW_S = 10.0


def _measure(kind: str, args, queue) -> None:
    """Runs in a child process; puts a dict of results on ``queue``."""
    import torch

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    ours, ref = _models(args, training=kind.startswith("train"))
    g = torch.Generator().manual_seed(1)
    batch = args.train_batch if kind.startswith("train") else args.batch
    images = torch.randn(batch, 3, args.image_size, args.image_size, generator=g).to(device)
    labels = torch.randint(0, args.classes, (batch,), generator=g).to(device)
    model = (ref if "theirs" in kind else ours).to(device)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    opts = dict(precision=args.precision, compile=args.compile or False)
    out: dict = {"kind": kind}

    if kind == "infer_theirs":

        def run():
            with torch.no_grad():
                return model(images, device, 0.2)

    elif kind in ("infer_ours", "infer_ours_first", "infer_ours_plain", "infer_ours_convs"):
        if kind == "infer_ours_first":

            def run():
                model._spontaneous_cache.clear()
                with torch.no_grad():
                    return model.classify(images, **opts)

        elif kind == "infer_ours_plain":

            def run():
                with torch.no_grad():
                    n = 100
                    zeros = torch.zeros_like(images)[:, None].expand(-1, n, -1, -1, -1)
                    seq = torch.cat([zeros, images[:, None].expand(-1, n, -1, -1, -1)], 1)
                    return model(seq, fast=False, record=True).outputs[:, -1]

        elif kind == "infer_ours_convs":
            with torch.no_grad():
                model.classify(images, **opts)  # warm-up, as for "infer_ours"

            def run():
                # the time spent inside the convolutions of a later image: what fp32 kernels
                # need for our MACs alone, so published / this bounds any speed-up with them
                from torch.profiler import ProfilerActivity, profile

                with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
                    logits = model.classify(images, **opts)
                names = ("aten::conv2d", "_PatchConv")  # the latter: products over patches

                def outermost(e) -> bool:
                    parent = e.cpu_parent
                    while parent is not None:
                        if parent.name in names:
                            return False
                        parent = parent.cpu_parent
                    return True

                convs = [e for e in prof.events() if e.name in names and outermost(e)]
                out["convolution_seconds"] = sum(e.cpu_time_total for e in convs) * 1e-6
                return logits

        else:
            with torch.no_grad():
                model.classify(images, **opts)  # warm-up: spontaneous state, compilation

            def run():
                with torch.no_grad():
                    return model.classify(images, **opts)

    elif kind in ("train_theirs", "train_theirs_flushed"):
        # "flushed": subnormal floats flushed to zero for the whole step, as the library does
        # in its simulations and their backward passes (the published scripts do not)
        torch.set_flush_denormal(kind == "train_theirs_flushed")
        onehot = torch.nn.functional.one_hot(labels, args.classes).float()
        ramp = torch.logspace(-3, 0, 30, device=device)

        def run():
            model.zero_grad()
            loss, _, spon = model(images, onehot, device, 0.2)
            full = (loss * ramp).mean() + 1e-3 * spon  # eq. 4 as in their training script
            full.backward()
            return full.detach()

    elif kind.startswith("train_ours"):
        from cordsneuro.training.vision import cordsnet_training_loss

        def run():
            model.zero_grad()
            model._spontaneous_cache.clear()  # weights change at every training step
            loss = cordsnet_training_loss(
                model, images, labels, checkpoint_segment=args.segment or None, **opts
            )
            loss.backward()
            return loss.detach()

    else:
        raise ValueError(kind)

    if cuda:
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    _load_checkpointing()
    _reset_peak_rss()
    rss0 = _rss_bytes()
    times, result = [], None
    while len(times) < args.repeats:
        sync()
        t0 = time.perf_counter()
        result = run()
        sync()
        times.append(time.perf_counter() - t0)
        if times == [times[0]] and times[0] < WARMUP_BELOW_S and not out.get("warmed"):
            out["warmed"] = True  # the first call was a warm-up (one-off costs): not counted
            times = []
            result = None
            _reset_peak_rss()
            rss0 = _rss_bytes()
    out["seconds"] = out.pop("convolution_seconds", None) or min(times)
    out["peak_bytes"] = (
        torch.cuda.max_memory_allocated() - base if cuda else max(0, _peak_rss_bytes() - rss0)
    )
    out["result"] = result.float().cpu().numpy()  # plain pickle (no shared memory)
    queue.put(out)


def _spawn(kind, args, *, memory: bool) -> dict:
    """One measurement in a fresh process.

    ``memory``: large blocks go through mmap (``MALLOC_MMAP_THRESHOLD_``), so that freed
    tensors go back to the OS and the peak resident set follows live tensors rather than
    malloc's cached heap. That costs page faults on every large allocation (ours: +60 % time
    at R8 224²), so times come from a process with the default allocator, as users run it."""
    saved = os.environ.get("MALLOC_MMAP_THRESHOLD_")
    if memory:
        os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"
    else:
        os.environ.pop("MALLOC_MMAP_THRESHOLD_", None)
    try:
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        proc = ctx.Process(target=_measure, args=(kind, args, queue))
        proc.start()
        res = queue.get()
        proc.join()
    finally:
        if saved is None:
            os.environ.pop("MALLOC_MMAP_THRESHOLD_", None)
        else:
            os.environ["MALLOC_MMAP_THRESHOLD_"] = saved
    import torch

    res["result"] = torch.from_numpy(res["result"])
    return res


def _published_training_bytes(args) -> int:
    """Peak memory of the published training class, estimated: 22 state-sized fp32 tensors
    per step and area over its 200 steps with gradients (12.9 GiB measured at R8 224², batch 1;
    this estimate: 12.3 GiB)."""
    from cordsneuro.models.wiring import cordsnet_wiring

    wiring = cordsnet_wiring(args.depth, image_size=args.image_size)
    units = sum(a.channels * a.size[0] * a.size[1] for a in wiring.areas)
    return 22 * 4 * units * 200 * args.train_batch


def _available_bytes() -> int | None:
    return _proc_bytes("/proc/meminfo", "MemAvailable")


def _child(kind, args) -> dict:
    """Seconds from a process with the default allocator and, unless ``--no-memory``, peak
    memory from a second process measured as :func:`_spawn` describes (both codes alike)."""
    res = _spawn(kind, args, memory=False)
    res["peak_bytes"] = None
    if args.memory and not kind.endswith("_flushed"):  # the same memory as without flushing
        once = argparse.Namespace(**vars(args))
        once.repeats = 1
        res["peak_bytes"] = _spawn(kind, once, memory=True)["peak_bytes"]
    return res


_LABELS = {
    "infer_ours_first": "ours, first batch (+ spontaneous state)",
    "infer_ours": "ours, next batches (spontaneous state reused)",
    "infer_ours_plain": "ours, plain per-step path",
    "infer_ours_convs": "ours, later image, convolutions only (bound)",
    "infer_theirs": "published code",
    "train_ours": "ours",
    "train_theirs": "published code",
    "train_theirs_flushed": "published code, subnormals flushed",
}


def _segment(kind: str) -> int | None:
    """The checkpoint segment of a ``train_ours_<k>`` measurement (None for other kinds)."""
    return int(kind.rsplit("_", 1)[1]) if kind.startswith("train_ours_") else None


def _gib(peak_bytes: int | None) -> str:
    return "–" if peak_bytes is None else f"{peak_bytes / 2.0**30:.2f} GiB"


def _record(path: str | None, row: dict) -> None:
    """Append one measurement as a JSON line (written whole, then flushed)."""
    if path is None:
        return
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()


def _fraction(ratio: float) -> str:
    """0.18 → "1/5.6", 0.068 → "1/15"."""
    inverse = 1 / ratio
    if abs(inverse - 1) < 1e-9:
        return "1/1"
    return f"1/{inverse:.1f}" if inverse < 10 else f"1/{inverse:.0f}"


def _markdown(paths: list[str]) -> str:
    """The speed tables of docs/vision.md from JSON lines written by ``--json``."""
    rows = []
    for path in paths:
        with open(path) as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    out = []
    runs: dict[tuple, list[dict]] = {}
    for r in rows:
        key = (r["part"], r["run"], r["depth"], r["image_size"], r["batch"], r["precision"])
        runs.setdefault(key, []).append(r)
    for (part, run, depth, size, batch, precision), group in runs.items():
        first = group[0]
        out.append(
            f"**{part}**, CordsNet-R{depth}, {size} × {size}, batch {batch}, {precision}, "
            f"{first['device']}, {first['threads']} thread(s), run {run}\n"
        )
        if part == "inference":
            out.append(
                "| code | s / batch | images / s | peak add. memory | speed-up | max. rel. logit diff. |"
            )
            out.append("|---|---|---|---|---|---|")
            for r in group:
                speed = f"{r['speedup']:.1f} ×" if r.get("speedup") else "–"
                diff = f"{r['rel_logit_diff']:.1e}" if r.get("rel_logit_diff") is not None else "–"
                out.append(
                    f"| {r['label']} | {r['seconds']:.3g} | {r['batch'] / r['seconds']:.3g} | "
                    f"{_gib(r['peak_bytes'])} | {speed} | {diff} |"
                )
        else:
            out.append(
                "| code | s / step | peak add. memory | speed-up | memory ratio | eq. 4 loss |"
            )
            out.append("|---|---|---|---|---|---|")
            for r in group:
                speed = f"{r['speedup']:.2f} ×" if r.get("speedup") else "–"
                mem = _fraction(r["memory_ratio"]) if r.get("memory_ratio") else "–"
                label = r["label"]
                if r["code"] == "ours":
                    label += f" (`checkpoint_segment={r.get('checkpoint_segment') or None}`)"
                out.append(
                    f"| {label} | {r['seconds']:.3g} | {_gib(r['peak_bytes'])} | "
                    f"{speed} | {mem} | {r['loss']:.6f} |"
                )
        out.append("")
    return "\n".join(out)


def _config(args, part: str, batch: int, depth: int, kind: str, res: dict) -> dict:
    """The fields every JSON line shares: configuration, code, label, time, memory, load."""
    return {
        "part": part,
        "run": args.run,
        "depth": depth,
        "image_size": args.image_size,
        "batch": batch,
        "precision": args.precision,
        "compile": args.compile,
        "device": args.device,
        "threads": args.threads,
        "code": "published" if "theirs" in kind else "ours",
        "kind": kind,
        "label": _LABELS["train_ours" if _segment(kind) is not None else kind],
        "seconds": res["seconds"],
        "peak_bytes": res["peak_bytes"],
        "loadavg_1m": res["loadavg_1m"],
        "warmup": res.get("warmed", False),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--reference",
        help="path to a checkout of wmws2/cordsnet (cordsnet.py, "
        "training/class_rnn_5_final.py) to time the published code in the same run",
    )
    p.add_argument("--depth", type=int, default=8)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--classes", type=int, default=1000, choices=(10, 100, 1000))
    p.add_argument("--batch", type=int, default=1, help="inference batch")
    p.add_argument("--train-batch", type=int, default=1)
    p.add_argument(
        "--train-depth",
        type=int,
        default=None,
        help="depth for the training comparison (default --depth; the published "
        "code stores every step, so R8 needs ~13 GB per image on CPU)",
    )
    p.add_argument(
        "--checkpoint-segment",
        type=int,
        nargs="+",
        default=[10],
        help="ours: gradient checkpointing over time in segments of this many steps (0: none); "
        "several values give one row each",
    )
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument(
        "--compile",
        nargs="?",
        const=True,
        default=None,
        help="torch.compile the step (optionally a mode, e.g. reduce-overhead)",
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=("inference", "training", "plain", "bound"),
        help="parts to skip",
    )
    p.add_argument(
        "--no-memory",
        dest="memory",
        action="store_false",
        help="skip the second process per measurement that takes the peak memory",
    )
    p.add_argument("--json", metavar="PATH", help="append one JSON line per measurement")
    p.add_argument(
        "--markdown",
        nargs="+",
        metavar="PATH",
        help="print the docs tables from JSON lines written by --json, and run nothing",
    )
    args = p.parse_args(argv)
    if args.markdown:
        print(_markdown(args.markdown))
        return
    args.run = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")

    print(
        f"CordsNet-R{args.depth}, {args.image_size}², {args.device}, {args.threads} thread(s), "
        f"precision {args.precision}, compile {args.compile}; 100 spontaneous + 100 stimulus steps"
    )
    if "inference" not in args.skip:
        kinds = ["infer_ours_first", "infer_ours"]
        if args.device == "cpu" and "bound" not in args.skip:
            kinds.append("infer_ours_convs")
        if "plain" not in args.skip:
            kinds.append("infer_ours_plain")
        if args.reference:
            kinds.append("infer_theirs")
        res = {}
        for k in kinds:
            res[k] = _child(k, args)
            res[k]["loadavg_1m"] = os.getloadavg()[0]
        print(f"\ninference, batch {args.batch}")
        print(f"{'':46s}{'s/batch':>10s}{'images/s':>10s}{'peak':>10s}{'speed-up':>10s}")
        base = res.get("infer_theirs", {}).get("seconds")
        for k in kinds:
            r = res[k]
            speed = f"{base / r['seconds']:9.1f}x" if base else ""
            print(
                f"{_LABELS[k]:46s}{r['seconds']:10.2f}{args.batch / r['seconds']:10.2f}"
                f"{_gib(r['peak_bytes']):>10s}{speed:>10s}"
            )
            diff = None
            if args.reference and k != "infer_theirs":
                ref = res["infer_theirs"]["result"]
                diff = float((r["result"] - ref).abs().max() / ref.abs().max())
                print(f"{'':46s}max relative logit difference {diff:.2e}")
            _record(
                args.json,
                _config(args, "inference", args.batch, args.depth, k, r)
                | {"speedup": base / r["seconds"] if base else None, "rel_logit_diff": diff},
            )
    if "training" not in args.skip:
        targs = argparse.Namespace(**vars(args))
        targs.depth = args.train_depth or args.depth
        # ours and theirs interleaved: ours (first segment size), theirs, ours (the others)
        segments = args.checkpoint_segment
        theirs = ["train_theirs", "train_theirs_flushed"] if args.reference else []
        need, have = _published_training_bytes(targs), _available_bytes()
        if theirs and args.device == "cpu" and have is not None and need > 0.8 * have:
            print(
                f"published training class skipped: it keeps every step's activations, about "
                f"{need / 2**30:.0f} GiB here (12.9 GiB per image measured at R8 224²), and "
                f"{have / 2**30:.0f} GiB are available"
            )
            theirs = []
        kinds = [f"train_ours_{segments[0]}", *theirs]
        kinds += [f"train_ours_{c}" for c in segments[1:]]
        res = {}
        for k in kinds:
            targs.segment = _segment(k)
            res[k] = _child(k, targs)
            res[k]["loadavg_1m"] = os.getloadavg()[0]
        print(
            f"\ntraining step (eq. 4, 300 steps, forward + backward), CordsNet-R{targs.depth}, "
            f"batch {args.train_batch}"
        )
        print(f"{'':38s}{'s/step':>10s}{'peak':>10s}{'speed-up':>10s}{'memory':>10s}")
        base = res.get("train_theirs")
        for k in kinds:
            r = res[k]
            extra = ""
            speed = mem = None
            if base:
                speed = base["seconds"] / r["seconds"]
                if r["peak_bytes"] is not None and base["peak_bytes"] is not None:
                    mem = r["peak_bytes"] / max(base["peak_bytes"], 1)
                extra = f"{speed:9.2f}x" + (f"{mem:9.3f}x" if mem is not None else "")
            label = _LABELS["train_ours" if _segment(k) is not None else k]
            if _segment(k) is not None:
                label += f", checkpoint_segment={_segment(k) or None}"
            print(f"{label:38s}{r['seconds']:10.2f}{_gib(r['peak_bytes']):>10s}{extra}")
            _record(
                args.json,
                _config(targs, "training", args.train_batch, targs.depth, k, r)
                | {
                    "checkpoint_segment": _segment(k),
                    "speedup": speed,
                    "memory_ratio": mem,
                    "loss": float(r["result"]),
                },
            )
        if base:
            a, b = float(res[kinds[0]]["result"]), float(base["result"])
            print(
                f"eq. 4 loss: ours {a:.6f}, published {b:.6f} (relative difference {abs(a - b) / abs(b):.1e})"
            )


if __name__ == "__main__":
    main()
