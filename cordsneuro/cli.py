"""``cordsneuro <subcommand>``: the command-line entry point (git-style subcommands)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def quickstart(args: argparse.Namespace) -> int:
    """Build the Table S1 networks, check their parameter counts and simulate each at a few
    gains with tanh (Section 2.1, Fig. 1B)."""
    import torch

    from cordsneuro.analyses.dimensionality import participation_ratio
    from cordsneuro.models.recurrent import TABLE_S1, recurrent_parameter_count, table_s1

    torch.manual_seed(args.seed)
    names = {"full": "FullRNN", "lowrank": "LowRankRNN", "sparse": "SparseRNN", "conv": "ConvRNN"}
    print(
        "Table S1 networks, autonomous tanh dynamics from a random state "
        f"(tau = 100 ms, dt = 20 ms, {args.steps} steps)\n"
    )
    header = f"{'architecture':<12} {'N':>4} {'rec. params':>11} {'Table S1':>8} {'gain':>5} {'final var':>10} {'PR':>6}"
    print(header)
    print("-" * len(header))
    start = time.perf_counter()
    mismatches = 0
    for n in sorted(TABLE_S1):
        for arch, name in names.items():
            for gain in args.gains:
                model = table_s1(n, arch, gain=gain, seed=args.seed, activation="tanh")
                count = recurrent_parameter_count(model)
                expected = TABLE_S1[n][arch]["count"] if arch in TABLE_S1[n] else n * n
                mismatches += count != expected
                state = model.unflatten_state(
                    torch.randn(1, n, generator=torch.Generator().manual_seed(args.seed))
                )
                with torch.no_grad():
                    traj = model(state=state, n_steps=args.steps)
                late = model.flatten_state(traj.rates[0, args.steps // 2 :])
                variance = late.var(dim=0).mean().item()
                pr = participation_ratio(late)
                print(
                    f"{name:<12} {n:>4} {count:>11} {expected:>8} {gain:>5.1f} {variance:>10.2e} {pr:>6.2f}"
                )
    print(
        f"\n{'all parameter counts match Table S1' if not mismatches else f'{mismatches} counts differ from Table S1'}"
        f" ({time.perf_counter() - start:.1f} s)"
    )
    trained = _quickstart_train(args)
    return 1 if mismatches or not trained else 0


#: Coherences of the quickstart's psychometric curve: the trained ones and finer ones between.
PSYCHOMETRIC_COHERENCES = (-0.4, -0.2, -0.1, -0.05, -0.03, -0.02, -0.01, 0.0,
                           0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.4)  # fmt: skip


def _quickstart_train(args: argparse.Namespace) -> bool:
    """Train a ConvRNN (Table S1, 125 neurons) on PDM to criterion (Section 2.1, Appendix B.3),
    save it, and write its psychometric curve (Fig. S2A) and trajectories (Fig. 1C) as PNGs."""
    import numpy as np
    import torch

    from cordsneuro import tasks
    from cordsneuro.plotting import plot_psychometric, plot_trajectories
    from cordsneuro.training import RECIPES, train_paper_task

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    recipe = RECIPES["PDM"]
    print(
        "\nTraining a ConvRNN (5 x 5 x 5 = 125 neurons, 4 x 4 kernel) on perceptual decision-making "
        f"(lr {recipe['lr']}, batch {recipe['batch_size']}, until 90 % held-out accuracy)"
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 125-neuron network: one thread is fastest (no sync overhead)
    try:
        result = train_paper_task("PDM", "conv", seed=args.seed, progress=True)
    finally:
        torch.set_num_threads(threads)
    print(
        f"{'reached' if result.reached else 'did NOT reach'} the criterion in {result.steps} steps, "
        f"{result.seconds:.1f} s: held-out accuracy {result.metrics['accuracy']:.3f}"
    )
    model = result.model
    model_dir = model.save(out / "pdm_convrnn")
    grid = np.repeat(np.array(PSYCHOMETRIC_COHERENCES), 100)
    evaluation = tasks.evaluate(model, "PDM", n_trials=len(grid), coherence=grid)
    fig = plot_psychometric(evaluation)
    psychometric = out / "pdm_psychometric.png"
    fig.savefig(psychometric, dpi=150)
    coherences = np.array([-0.4, -0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.4])
    batch = tasks.make_batch("PDM", len(coherences), seed=args.seed, coherence=coherences)
    with torch.no_grad():
        traj = model(batch.inputs)
    fig = plot_trajectories(traj.rates, coherences, times=traj.times.numpy(), label="coherence")
    trajectories = out / "pdm_trajectories.png"
    fig.savefig(trajectories, dpi=150)
    print(f"model saved to            {model_dir}  (reload: cordsneuro.load(path))")
    print(f"psychometric curve        {psychometric}")
    print(f"neural trajectories (PCA) {trajectories}")
    return result.reached


def _positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {value}")
    return value


def complexity(args: argparse.Namespace) -> int:
    """Print MACs and parameters of every torchvision classification model and of
    CordsNet-R2…R8 over a simulation (Section 3, Fig. 2C)."""
    from cordsneuro.analyses.complexity import agreement, complexity_table, format_table, write_csv

    if args.csv is not None and args.csv.is_dir():
        raise SystemExit(
            f"cordsneuro complexity: error: --csv {args.csv} is a directory, not a file"
        )
    if args.plot is not None and args.plot.is_dir():
        raise SystemExit(
            f"cordsneuro complexity: error: --plot {args.plot} is a directory, not a file"
        )
    if args.csv is not None and not args.csv.parent.exists():
        raise SystemExit(
            f"cordsneuro complexity: error: --csv directory {args.csv.parent} does not exist"
        )
    if args.plot is not None and not args.plot.parent.exists():
        raise SystemExit(
            f"cordsneuro complexity: error: --plot directory {args.plot.parent} does not exist"
        )
    try:
        rows = complexity_table(
            steps=args.steps,
            image_size=args.image_size,
            names=args.models,
            all_weights=args.all_weights,
            progress=not args.quiet,
        )
    except ValueError as err:
        raise SystemExit(f"cordsneuro complexity: error: {err}") from None
    print(format_table(rows))
    print()
    summary = agreement(rows, tolerance=args.tolerance)
    print(summary)
    if args.csv is not None:
        print(f"table written to {write_csv(rows, args.csv)}")
    if args.plot is not None:
        from cordsneuro.plotting import plot_complexity

        fig = plot_complexity(rows)
        fig.savefig(args.plot, dpi=150)
        print(f"plot written to {args.plot}")
    return 0 if summary.agrees else 1


def neural_score(args: argparse.Namespace) -> int:
    """Time-resolved neural predictivity of a model's areas with the temporal-shuffle control
    (Section 5, Fig. 6, Appendix E)."""
    import numpy as np

    from cordsneuro.analyses import neural

    def fail(message: str) -> SystemExit:
        return SystemExit(f"cordsneuro neural score: error: {message}")

    for label, path in (("--csv", args.csv), ("--plots", args.plots)):
        if path is not None and not path.parent.exists():
            raise fail(f"{label} directory {path.parent} does not exist")
    try:
        data = neural.load_assembly(args.data)
        starts, ends = data["time_bin_start"].values, data["time_bin_end"].values
        lag: float | str = args.lag
        lag_search = None
        if args.lag_search is not None:
            low, high, step = args.lag_search
            if step <= 0 or high < low:
                raise fail("--lag-search needs MIN <= MAX and STEP > 0 (ms)")
            lag_search = np.arange(low, high + step / 2, step)
        if args.model.suffix == ".nc":
            import xarray as xr

            with xr.open_dataarray(args.model) as da:
                activity = da.load()
            if lag_search is not None:
                lag = "search"
        else:
            activity, applied = _record_model(args, data, starts, ends, lag_search)
        result = neural.temporal_predictivity(
            activity,
            data,
            areas=args.areas if args.model.suffix == ".nc" else None,
            regions=args.regions,
            lag_ms=lag,
            lag_search_ms=lag_search if lag_search is not None else (0.0,),
            n_splits=args.splits,
            n_trials=args.trials,
            regression=args.regression,
            n_components=args.components,
            alpha=args.alpha,
            n_pca=None if args.pca == 0 else args.pca,
            shuffle=args.shuffle,
            seed=args.seed,
            progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError, TypeError) as err:
        raise fail(str(err)) from None
    if args.model.suffix != ".nc":
        result.lags_ms = applied  # applied while recording
    print(result.format_table())
    print(f"lags (ms): {result.lags_ms}")
    print(
        "p paired: Appendix E's paired t-test over trials; p exch.: the same t referred to the "
        "spread of the shuffles (t / sqrt(trials + 1)), which does not call data whose time "
        "courses are unrelated to the model's significant"
    )
    if args.csv is not None:
        print(f"table written to {result.to_csv(args.csv)}")
    if args.plots is not None:
        from cordsneuro.plotting import plot_neural_predictivity, plot_neural_timecourses

        args.plots.mkdir(parents=True, exist_ok=True)
        plot_neural_timecourses(result.timecourses, result.bin_centres_ms).savefig(
            args.plots / "fig6b_timecourses.png", dpi=150
        )
        plot_neural_predictivity(result).savefig(args.plots / "fig6c_scores.png", dpi=150)
        print(f"figures written to {args.plots}")
    return 0


def _record_model(args, data, starts, ends, lag_search):
    """Simulate the model on the stimuli and bin its areas (the lag searched on the first
    --lag-images images when asked)."""
    import numpy as np

    from cordsneuro.analyses import neural

    if args.stimuli is None:
        raise ValueError("a model (not a recorded .nc activity) needs --stimuli images.npz")
    if args.areas is None:
        raise ValueError("a model needs --areas (area indices to record, e.g. 6 7)")
    if args.model.is_dir():
        from cordsneuro import load

        model = load(args.model)
    else:
        from cordsneuro.models import cordsnet

        builders = {f"cordsnet_r{d}": getattr(cordsnet, f"cordsnet_r{d}") for d in (2, 4, 6, 8)}
        if str(args.model) not in builders:
            raise ValueError(
                f"MODEL must be a recorded activity (.nc), a saved model directory or one of "
                f"{sorted(builders)} (got {str(args.model)!r})"
            )
        model = builders[str(args.model)](weights=args.weights)
    model.eval()
    stimuli = np.load(args.stimuli)
    for key in ("images", "image_ids"):
        if key not in stimuli:
            raise ValueError(f"--stimuli {args.stimuli} has no array {key!r}")
    images, ids = stimuli["images"], [str(i) for i in stimuli["image_ids"]]
    areas = [int(a) for a in args.areas]
    lags = {a: float(args.lag) for a in areas}
    if lag_search is not None:
        import torch

        n = min(args.lag_images, len(ids))
        duration = float(np.max(ends)) - float(np.min(lag_search))
        with torch.no_grad():
            trajectory = model.simulate(
                torch.as_tensor(images[:n]).float(),
                neural.stimulus_protocol(duration, args.image_ms, model.dt),
                record_areas=areas,
                record_outputs=False,
            )
        for a in areas:
            found = neural.search_lag(trajectory.to_xarray([a]), data, lag_search)
            lags[a] = found.lag_ms
            print(f"area {a}: lag search on {n} images -> {found.lag_ms:g} ms")
    activity = neural.record_binned(
        model, images, ids, areas, starts, ends, lag_ms=lags, image_ms=args.image_ms,
        batch_size=args.batch_size, progress=not args.quiet,
    )  # fmt: skip
    return activity, {str(a): lag for a, lag in lags.items()}


def _subcommands(parser: argparse.ArgumentParser, dest: str, metavar: str):
    """Required git-style subcommands of ``parser``."""
    sub = parser.add_subparsers(dest=dest, metavar=metavar)
    sub.required = True
    return sub


def sweep_run(args: argparse.Namespace) -> int:
    """Run the missing runs of a sweep (Appendix B.3) and write its results table."""
    from cordsneuro.training.sweep import run_sweep

    slurm = {}
    for item in args.slurm or []:
        key, _, value = item.partition("=")
        if not key or not _:
            raise SystemExit(f"--slurm takes KEY=VALUE pairs (got {item!r})")
        slurm[key] = int(value) if value.isdigit() else value
    out = args.out if args.out is not None else Path(f"sweep_{Path(args.sweep).stem}")
    start = time.perf_counter()
    try:
        table = run_sweep(
            args.sweep, out, executor=args.executor, workers=args.workers, threads=args.threads,
            slurm=slurm, cluster=args.cluster, progress=not args.quiet, batch=args.batch,
        )  # fmt: skip
    except ValueError as error:  # a bad sweep definition or a directory of another sweep
        print(f"cordsneuro sweep run: error: {error}", file=sys.stderr)
        return 2
    print(f"{len(table)} runs finished in {out} ({time.perf_counter() - start:.0f} s); table: "
          f"{out / 'results.csv'}")  # fmt: skip
    return 0


def sweep_report(args: argparse.Namespace) -> int:
    """Distance matrices, Table S2 and Fig. S2 / 1C of a finished sweep."""
    from cordsneuro.training.sweep_report import report_sweep

    try:
        report_sweep(
            args.directory, directory=args.report, n_jobs=args.jobs,
            psychometric_trials=args.trials, progress=not args.quiet,
        )  # fmt: skip
    except ValueError as error:  # no runs, or runs recorded on different trials
        print(f"cordsneuro sweep report: error: {error}", file=sys.stderr)
        return 2
    return 0


def vision_train(args: argparse.Namespace) -> int:
    """``cordsneuro vision train``: one stage of the CordsNet training method, all of steps
    1–4, or a Table 1 control (Section 3, Fig. 2B, Table S4)."""
    from cordsneuro.training.vision import distributed
    from cordsneuro.training.vision.pipeline import (
        METHOD,
        Preempted,
        RunSpec,
        StageError,
        run_method,
        run_stage,
    )

    depth = {"r2": 2, "r4": 4, "r6": 6, "r8": 8}[args.model]
    overrides = {
        "epochs": args.epochs,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "clip": args.clip,
        "weight_decay": args.weight_decay,
    }
    try:
        run = RunSpec(
            args.dataset,
            args.out,
            depth=depth,
            root=args.root,
            image_size=args.image_size,
            download=args.download,
            seed=args.seed,
            workers=args.workers,
            precision=args.precision,
            progress=not args.quiet,
            train_limit=args.train_limit,
            test_limit=args.test_limit,
        )
        info = distributed.setup(args.device)
    except (ValueError, RuntimeError) as err:
        raise SystemExit(f"cordsneuro vision train: error: {err}") from None
    try:
        if args.stage == "all":
            results = run_method(run, info, resume=args.resume, stages=METHOD, **overrides)
        else:
            results = {
                args.stage: run_stage(run, args.stage, info, resume=args.resume, **overrides)
            }
    except (StageError, ValueError, FileNotFoundError) as err:
        raise SystemExit(f"cordsneuro vision train: error: {err}") from None
    except Preempted as err:
        print(f"cordsneuro vision train: {err}", file=sys.stderr)
        return 143
    finally:
        distributed.teardown(info)
    if info.main:
        for stage, result in results.items():
            test = result.get("test", {})
            print(
                f"{stage:<11} test accuracy {test.get('accuracy', float('nan')):.4f} "
                f"(inference window {test.get('window_accuracy', float('nan')):.4f})  "
                f"-> {run.out / stage}"
            )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cordsneuro",
        description="Continuous-time RNN dynamical systems for neuroscience (CordsNet and friends).",
    )
    sub = _subcommands(parser, "command", "<command>")

    p = sub.add_parser(
        "quickstart",
        help="build the Table S1 networks, simulate them, and train a ConvRNN on PDM (the main job)",
        description="Build FullRNN, LowRankRNN, SparseRNN and ConvRNN at the three sizes of Table S1, "
        "check their recurrent parameter counts and simulate each from a random state with tanh at "
        "a few gains; prints architecture, N, recurrent parameters, late-activity variance and "
        "participation ratio. Then train a ConvRNN of 125 neurons on perceptual decision-making to "
        "90 %% held-out accuracy, save it to --out and write its psychometric curve and neural "
        "trajectories there as PNG files (about a minute on 2 CPU cores).",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of weights and initial states (default 0)"
    )
    p.add_argument(
        "--steps", type=int, default=200, help="Euler steps per simulation (default 200)"
    )
    p.add_argument(
        "--gains", type=float, nargs="+", default=[0.5, 1.5, 3.0], help="gains g to simulate"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("cordsneuro_quickstart"),
        help="directory for the trained PDM ConvRNN and its PNG plots (default ./cordsneuro_quickstart)",
    )
    p.set_defaults(func=quickstart)
    p = sub.add_parser(
        "complexity",
        help="MACs and parameters of torchvision models and CordsNet-R2…R8 (Fig. 2C)",
        description="Count multiply-accumulates (MACs) and parameters of every classification "
        "model in torchvision.models (on the meta device: no weights, no arithmetic; each at the "
        "input size of its published weights) and compare them with torchvision's recorded "
        "operation counts (the '_ops' metadata, GMACs); then count CordsNet-R2…R8 over a "
        "simulation of --steps Euler steps at --image-size, both on our fast path (image-only "
        "work once per stimulus) and as the published code computes it (the stem convolution "
        "recomputed by every area at every step). Prints the table and the paper's Fig. 2C "
        "statements; exits with status 1 if a torchvision count differs from '_ops' by more "
        "than --tolerance. A MAC is one multiply-add of a convolution, matrix product or "
        "attention product; element-wise work (norms, activations, pooling) is not counted.",
    )
    p.add_argument(
        "--steps",
        type=_positive_int,
        default=300,
        help="Euler steps of the CordsNet simulation (default 300: the eq. 4 training "
        "simulation, 100 spontaneous + 100 stimulus + 100 blank steps)",
    )
    p.add_argument(
        "--image-size",
        type=_positive_int,
        default=224,
        help="CordsNet input height = width in pixels (default 224); torchvision models are "
        "always counted at their own weights' input size",
    )
    p.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help="torchvision models to count (default: all of "
        "torchvision.models.list_models(module=torchvision.models))",
    )
    p.add_argument(
        "--all-weights",
        action="store_true",
        help="one row per published weights at its own input size (e.g. ViT-H/14 at 224 and "
        "518) instead of one row per model at its smallest",
    )
    p.add_argument(
        "--tolerance",
        type=_nonnegative_float,
        default=0.02,
        help="largest accepted relative difference from torchvision's _ops (default 0.02)",
    )
    p.add_argument(
        "--csv", type=Path, metavar="PATH", help="also write the table as CSV (atomically)"
    )
    p.add_argument("--plot", type=Path, metavar="PATH", help="also save the Fig. 2C plot (PNG)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=complexity)

    group = sub.add_parser(
        "neural",
        help="compare model activity with neural recordings over time (Fig. 6)",
        description="Neural-data analyses (Section 5, Fig. 6, Appendix E).",
    )
    neural_sub = _subcommands(group, "neural_command", "<neural command>")
    p = neural_sub.add_parser(
        "score",
        help="time-resolved Brain-Score with a temporal-shuffle control (Fig. 6C)",
        description="Fit the model's activity, bin by bin, to neural recordings and compare the "
        "fit with the same recordings shuffled in time (Appendix E): per trial the images are "
        "split --splits ways (90/10); for each split a PLS regression (Brain-Score's, 25 "
        "components) maps the [N_t*N_i, N_1] model matrix (reduced by a randomized PCA fitted "
        "on the training images) to the [N_t*N_i, N_2] neural matrix; the test score is the "
        "median over neuroids of the Pearson r over time bins x test images, averaged over "
        "splits. --trials trials give paired scores and a paired t-test; the classic "
        "time-averaged score is printed alongside. MODEL is a recorded activity (.nc, dims "
        "time_bin/presentation/neuroid with time_bin_start/time_bin_end in ms, image_id and "
        "optionally area), a saved model directory or cordsnet_r2 ... cordsnet_r8 (with "
        "--weights); a model is simulated on --stimuli from its spontaneous state. DATA is a "
        "NetCDF assembly in Brain-Score's NeuroidAssembly layout (presentation x neuroid x "
        "time_bin; image_id, region, time_bin_start/time_bin_end in ms).",
    )
    p.add_argument("model", type=Path, metavar="MODEL")
    p.add_argument("data", type=Path, metavar="DATA")
    p.add_argument("--areas", nargs="+", metavar="AREA", help="model areas (default all)")
    p.add_argument("--regions", nargs="+", metavar="REGION", help="brain regions (default all)")
    p.add_argument(
        "--stimuli",
        type=Path,
        metavar="NPZ",
        help="images for a model: .npz with 'images' (N, C, H, W), already normalised as the "
        "model expects, and 'image_ids' (the ids used in DATA)",
    )
    p.add_argument("--weights", help="weights of a cordsnet_rN builder (None, imagenet, path)")
    p.add_argument(
        "--image-ms",
        type=_nonnegative_float,
        help="stimulus duration in ms, then a blank screen (default: the image throughout)",
    )
    p.add_argument("--lag", type=float, default=0.0, help="model-to-neural lag in ms (default 0)")
    p.add_argument(
        "--lag-search",
        type=float,
        nargs=3,
        metavar=("MIN", "MAX", "STEP"),
        help="search the lag (ms) that aligns the model's population time course with the "
        "neural one (per area; per area and region for a recorded activity)",
    )
    p.add_argument(
        "--lag-images",
        type=_positive_int,
        default=64,
        help="images simulated at full time resolution for the lag search (default 64)",
    )
    p.add_argument("--trials", type=_positive_int, default=20, help="trials (default 20)")
    p.add_argument("--splits", type=_positive_int, default=10, help="splits (default 10)")
    p.add_argument("--regression", choices=["pls", "ridge"], default="pls")
    p.add_argument("--components", type=_positive_int, default=25, help="PLS components")
    p.add_argument("--alpha", type=_nonnegative_float, default=1.0, help="ridge penalty")
    p.add_argument(
        "--pca",
        type=int,
        default=100,
        help="principal components of the model matrix per split (0: no reduction)",
    )
    p.add_argument(
        "--shuffle", choices=["presentation", "neuroid", "global"], default="presentation"
    )
    p.add_argument("--batch-size", type=_positive_int, default=32, help="images per simulation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv", type=Path, metavar="PATH", help="write the table as CSV")
    p.add_argument("--plots", type=Path, metavar="DIR", help="write Fig. 6B and 6C PNGs there")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=neural_score)

    p = sub.add_parser(
        "sweep",
        help="task-comparison sweeps: train grids of networks, compare their solutions (Table S2)",
        description="Train grids of networks on the cognitive tasks (architecture x task x "
        "activation x learning rate x size x seed, each with its untrained twin) on a local "
        "process pool or on SLURM, then compare their trajectories with shape metrics (paper "
        "Section 2.1, Appendix B.3).",
    )
    sweep_sub = _subcommands(p, "sweep_command", "<sweep command>")
    q = sweep_sub.add_parser(
        "run",
        help="run every missing run of a sweep",
        description="Run a sweep: a preset (laptop: 4 architectures x 5 tasks x 3 seeds at N = "
        "125; paper: Appendix B.3's full grid; tiny: a smoke test) or a YAML file. Each run is "
        "written to OUT/runs/<task>/<run>/ only when complete; a finished run is never redone, so "
        "a killed sweep restarts where it stopped. A directory made by another sweep "
        "definition is refused. Writes OUT/results.csv (a row per run).",
    )
    q.add_argument("sweep", help="preset name (laptop, paper, tiny) or path to a YAML file")
    q.add_argument("--out", type=Path, help="sweep directory (default ./sweep_<name>)")
    q.add_argument(
        "--executor", choices=["local", "slurm"], default="local",
        help="local process pool (default) or a SLURM job array through submitit",
    )  # fmt: skip
    q.add_argument("--workers", type=_positive_int, help="local processes (default: every core)")
    q.add_argument("--threads", type=_positive_int, default=1, help="torch threads per run")
    q.add_argument(
        "--batch", type=_positive_int, default=1,
        help="train up to this many runs of one task, architecture, activation and size as one "
        "batched model (train_many; same results as alone, to rounding); default 1",
    )  # fmt: skip
    q.add_argument(
        "--slurm", nargs="*", metavar="KEY=VALUE",
        help="submitit parameters, e.g. slurm_partition=gpu timeout_min=120 "
        "slurm_array_parallelism=64",
    )  # fmt: skip
    q.add_argument(
        "--cluster", choices=["slurm", "local", "debug"],
        help="submitit cluster (default: SLURM if present; local: run the array as local "
        "processes)",
    )  # fmt: skip
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=sweep_run)
    q = sweep_sub.add_parser(
        "report",
        help="distance matrices, Table S2, Fig. S2A-C and Fig. 1C of a sweep",
        description="For every task (and setting) of the sweep in DIRECTORY: the angular "
        "Procrustes distance matrix over all networks, trained and untrained (CSV), its MDS plot "
        "coloured by architecture (Fig. S2C), each architecture's mean distance to the trained "
        "fully connected networks in Table S2's layout (Markdown and CSV, printed), normalised "
        "singular values of the recurrent weights (Fig. S2B), psychometric curves of a trained "
        "ConvRNN (Fig. S2A) and CCA-aligned trajectories of a ConvRNN with a low-rank and a "
        "sparse RNN (Fig. 1C), as PNG files in DIRECTORY/report.",
    )
    q.add_argument("directory", type=Path, help="the sweep directory (of 'sweep run')")
    q.add_argument("--report", type=Path, help="where the report goes (default DIRECTORY/report)")
    q.add_argument("--jobs", type=int, default=-1, help="threads for the distances (-1: all)")
    q.add_argument(
        "--trials", type=_positive_int, default=1000, help="trials of the psychometric curves"
    )
    q.add_argument("--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=sweep_report)
    p = sub.add_parser(
        "vision",
        help="train CordsNet on images: the paper's four-step method and Table 1's controls",
        description="Vision training of CordsNet (Section 3, Fig. 2B, Table S4, Table 1).",
    )
    vsub = p.add_subparsers(dest="vision_command", metavar="<vision command>")
    vsub.required = True
    p = vsub.add_parser(
        "train",
        help="run a stage of the training method (or all of steps 1-4, or a control)",
        description="Run one stage of CordsNet's training method, reading its predecessor's "
        "output from --out: cnn (step 1: the feedforward CNN with BatchNorm, SGD, 3 learning "
        "rates) -> fold (step 2a: fold BatchNorm, eq. 5, and initialise the linear CordsNet so "
        "each area's steady state, eq. 7, equals the CNN layer) -> linear (step 2b: eq. 8) -> "
        "anneal (step 3: PReLU slope 0.95 -> 0, eq. 4) -> finetune (step 4: eq. 4). 'all' runs "
        "steps 1-4 (skipping finished ones). Controls (Table 1): direct (CordsNet from random "
        "initialisation, eq. 4) and fc-control (a parameter-matched fully connected RNN). "
        "Settings default to Table S4 for the dataset (digits: a preset sized for a CPU); "
        "--epochs/--lr/--batch-size/... override them. Each stage writes OUT/STAGE/: model/ "
        "(loadable with cordsneuro.load or cordsnet_rN(weights=...)), metrics.csv, "
        "results.json, and checkpoint/ while running (every epoch and on SIGTERM; continue "
        "with --resume). Under 'torchrun --nproc_per_node N' the same command trains with "
        "DistributedDataParallel (gloo on CPU, NCCL on GPU); --batch-size is per process.",
    )
    p.add_argument(
        "--dataset",
        required=True,
        choices=["digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "imagenet"],
        help="digits: scikit-learn's bundled 8x8 digits (no files needed)",
    )
    p.add_argument(
        "--root",
        type=Path,
        help="dataset directory in torchvision's layout (MNIST/raw/..., cifar-10-batches-py/..., "
        "ImageNet: train/<class>/, val/<class>/)",
    )
    p.add_argument("--download", action="store_true", help="let torchvision download the data")
    p.add_argument("--model", choices=["r2", "r4", "r6", "r8"], default="r2", help="CordsNet-RN")
    p.add_argument(
        "--stage",
        required=True,
        choices=["cnn", "fold", "linear", "anneal", "finetune", "all", "direct", "fc-control"],
    )
    p.add_argument(
        "--out", type=Path, required=True, help="output directory (one folder per stage)"
    )
    p.add_argument(
        "--image-size",
        type=_positive_int,
        help="resize images to this size (the authors: 224); default: native size",
    )
    p.add_argument("--epochs", type=float, help="epochs per phase (per slope when annealing)")
    p.add_argument("--lr", type=float, nargs="+", help="learning rate(s), one per phase")
    p.add_argument("--batch-size", type=_positive_int, help="images per step and process")
    p.add_argument("--clip", type=float, help="gradient-norm clipping")
    p.add_argument("--weight-decay", type=_nonnegative_float, help="weight decay")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    p.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        default="fp32",
        help="bf16: bfloat16 convolutions (GPU), state and readout in fp32",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/STAGE/checkpoint")
    p.add_argument(
        "--train-limit", type=_positive_int, help="train on the first N images only (checks)"
    )
    p.add_argument(
        "--test-limit", type=_positive_int, help="evaluate on the first N test images only"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=vision_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
