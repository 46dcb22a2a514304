"""The figures of the how-to pages: a trial, a learning curve, a psychometric curve, trajectories
and the activity of the four architectures.

Trains Table S1 ConvRNNs (N = 125) on CDM for 150 steps and on PDM to criterion (seconds)
and draws:

* ``trial_pdm.png``, ``trial_cdm.png`` — the anatomy of a trial (``docs/tasks.md``);
* ``learning_curve_cdm.png``, ``psychometric_pdm.png``, ``trajectories_pdm.png``
  (``docs/training.md``, ``docs/tasks.md``);
* ``architectures_activity.png`` — the four single-area architectures driven by the same
  input pulse (``docs/models.md``).

The CordsNet figures of ``docs/vision.md`` come from ``examples/fig3b_activity_sequence.py``
and ``examples/fig3c_noise_robustness.py``.

Run: ``python examples/docs_figures.py --out docs/img``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro import tasks, train
from cordsneuro.models import table_s1
from cordsneuro.plotting import (
    plot_learning_curve,
    plot_psychometric,
    plot_trajectories,
    plot_trial,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)

    def save(fig, name: str) -> None:
        fig.savefig(args.out / name, dpi=110)
        plt.close(fig)
        print("wrote", args.out / name)

    for name in ("PDM", "CDM"):
        task = tasks.make(name, seed=args.seed)
        batch = tasks.make_batch(task, 1, seed=args.seed)
        fig = plot_trial(batch, task.dt, input_names=task.input_names, title=f"one {name} trial")
        save(fig, f"trial_{name.lower()}.png")

    cdm_model = table_s1(125, "conv", input_size=4, output_size=2, seed=args.seed)
    result = train(cdm_model, "CDM", steps=150, lr=3e-3, batch_size=64, seed=args.seed,
                   eval_every=10, progress=False)  # fmt: skip
    print(f"CDM: {result.steps} steps, {result.metrics}")
    fig = plot_learning_curve(result.history)
    fig.axes[0].set_title("ConvRNN (Table S1, N = 125) on CDM", fontsize=9)
    save(fig, "learning_curve_cdm.png")

    model = table_s1(125, "conv", input_size=1, output_size=2, seed=args.seed)
    train(model, "PDM", until="criterion", lr=3e-3, batch_size=64, seed=args.seed, progress=False)

    grid = np.linspace(-0.4, 0.4, 17)
    ev = tasks.evaluate(model, "PDM", n_trials=17 * 60, coherence=np.repeat(grid, 60))
    save(plot_psychometric(ev), "psychometric_pdm.png")

    coherences = np.repeat([-0.4, -0.2, -0.1, 0.1, 0.2, 0.4], 4)
    batch = tasks.make_batch("PDM", len(coherences), seed=args.seed + 1, coherence=coherences)
    with torch.no_grad():
        traj = model(batch.inputs)
    save(plot_trajectories(traj.rates, coherences, traj.times, label="coherence"),
         "trajectories_pdm.png")  # fmt: skip

    pulse = torch.zeros(1, 100, 1)
    pulse[:, 5:15] = 1.0  # 100–300 ms at dt = 20 ms
    fig, axes = plt.subplots(1, 4, figsize=(12, 2.8), sharey=True)
    for ax, arch in zip(axes, ("full", "lowrank", "sparse", "conv")):
        net = table_s1(125, arch, gain=1.5, seed=args.seed)
        with torch.no_grad():
            tr = net(pulse)
        ax.plot(tr.times, tr.rates[0].reshape(len(tr.times), -1)[:, :10], lw=0.8)
        ax.axvspan(100, 300, color="0.9", zorder=0)
        ax.set(title=f"{type(net).__name__} (N = 125, g = 1.5)", xlabel="time (ms)")
    axes[0].set_ylabel("rate (10 neurons)")
    fig.tight_layout()
    save(fig, "architectures_activity.png")


if __name__ == "__main__":
    main()
