# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions to tutorial 4: comparing the solutions of different architectures
#
# Worked solutions to the exercises of [tutorial 4](../../04_comparing_solutions/). The first
# cell runs the same small sweep as the tutorial.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro.analyses.similarity import LinearMetric
from cordsneuro.training.sweep import run_sweep
from cordsneuro.training.sweep_report import load_trajectories

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"
torch.set_num_threads(1)
workdir = Path(tempfile.mkdtemp(prefix="tutorial04_solutions_"))
run_sweep(
    {
        "name": "tutorial",
        "grid": {
            "architecture": ["full", "lowrank", "sparse", "conv"],
            "task": ["PDM"],
            "size": [125],
            "seed": [0] if SMALL else [0, 1],
        },
        "max_steps": 30 if SMALL else 500,
        "eval_trials": 128,
        "trajectory_trials": 16,
    },
    workdir,
    workers=1,
    progress=False,
)


def activity(arch, seed=0, trained=True):
    name = f"{arch}_n125_tanh_lr0.003_s{seed}_{'trained' if trained else 'untrained'}"
    data = load_trajectories(workdir / "runs" / "PDM" / name)
    return np.concatenate([rates[:n] for rates, n in zip(data["rates"], data["length"])])


# %% [markdown]
# ## Exercise 1: partial whitening
#
# As `alpha` falls from 1 to 0 the metric whitens each network more and so ignores more: at 0
# any invertible linear re-mixing of the neurons is free, so only the correlation structure
# the two share is compared; at 1 only rotations are free, and differences in how variance is
# spread over dimensions count too. The distance therefore grows with `alpha`.

# %%
conv, full = activity("conv"), activity("full")
alphas = np.linspace(0, 1, 11)
distances = [LinearMetric(alpha=a).fit_score(conv, full) for a in alphas]
plt.plot(alphas, distances, "o-")
plt.xlabel("alpha (0: CCA, 1: Procrustes)")
plt.ylabel("angular distance (rad)")
plt.show()

# %% [markdown]
# ## Exercise 2: trained versus untrained
#
# A network moves far from its own initialisation during training, further than trained
# networks of different architectures are from each other: the task, more than the wiring,
# shapes the solution.

# %%
metric = LinearMetric(alpha=1.0)
for arch in ("full", "lowrank", "sparse", "conv"):
    own_twin = metric.fit_score(activity(arch), activity(arch, trained=False))
    to_full = metric.fit_score(activity(arch), full) if arch != "full" else float("nan")
    print(f"{arch:8s} to its untrained twin {own_twin:.3f}   to the trained full RNN {to_full:.3f}")

# %% [markdown]
# ## Exercise 3: held-out alignment
#
# The rotation (and the centring) fitted on the first half are the best for that half only.
# Scored on the second half they are fixed, so the held-out distance is usually a little
# larger than the in-sample one; a held-out distance close to the in-sample distance says that
# the similarity is not an artefact of fitting a 125 × 125 rotation to a few hundred samples.
# Refitting on the second half gives that half's own optimum (with its own centring).

# %%
half = conv.shape[0] // 2
fitted = LinearMetric(alpha=1.0).fit(conv[:half], full[:half])
print(f"in-sample (first half)  {fitted.score(conv[:half], full[:half]):.3f}")
print(f"held out (second half)  {fitted.score(conv[half:], full[half:]):.3f}")
print(f"refitted on second half {LinearMetric(alpha=1.0).fit_score(conv[half:], full[half:]):.3f}")
