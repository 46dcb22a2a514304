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
# # Tutorial 4: comparing the solutions of different architectures
#
# **Learning goals**
#
# * measure how far apart two networks' representations are with shape metrics
#   (Procrustes and CCA distances, Williams et al. 2021) and know what each ignores;
# * run a small sweep: several architectures trained on a task, each with its untrained twin,
#   every run in its own crash-safe directory;
# * turn a distance matrix into an MDS picture (Fig. S2C) and a Table S2-style summary;
# * align two networks' trajectories with CCA to see a shared solution (Fig. 1C).
#
# **Time:** about 30 minutes (the sweep trains for a few minutes on a laptop CPU).
# **Prerequisites:** [tutorial 2](../02_cognitive_tasks/) (tasks and training).
#
# Source: Soo et al. (NeurIPS 2024), Section 2.1 and Appendix B.3; Williams, Kunz, Kornblith &
# Linderman (NeurIPS 2021).

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro.analyses.similarity import (
    LinearMetric,
    cca_align,
    mds_embedding,
    pairwise_distances,
)
from cordsneuro.plotting import plot_aligned_trajectories, plot_mds
from cordsneuro.training.sweep import run_sweep
from cordsneuro.training.sweep_report import load_trajectories, report_sweep

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"  # shrink sizes for CI
torch.set_num_threads(1)
rng = np.random.default_rng(0)

# %% [markdown]
# ## Step 1: what a shape metric ignores
#
# Two networks are recorded on the same trials: activity matrices $X$ (samples × neurons) and
# $Y$, the rows paired (every trial and time step). Neurons of two networks have no natural
# correspondence, so a useful distance must not care how the population code is rotated. The
# **Procrustes** distance (``alpha=1``) centres both, rotates one onto the other as well as
# possible and reports the remaining angle (radians). The **CCA** distance (``alpha=0``) first
# whitens each network, so it also ignores any invertible linear re-mixing of the neurons.

# %%
X = rng.standard_normal((500, 3)) @ rng.standard_normal((3, 20))  # a 3-D code in 20 neurons
Q, _ = np.linalg.qr(rng.standard_normal((20, 20)))  # a random rotation
stretch = np.diag(np.linspace(0.2, 3.0, 20))  # an invertible, non-rotational map

procrustes, cca = LinearMetric(alpha=1.0), LinearMetric(alpha=0.0)
print(
    f"rotated:   Procrustes {procrustes.fit_score(X, X @ Q):.4f}  CCA {cca.fit_score(X, X @ Q):.4f}"
)
print(
    f"stretched: Procrustes {procrustes.fit_score(X, X @ stretch):.4f}  "
    f"CCA {cca.fit_score(X, X @ stretch):.4f}"
)

# %% [markdown]
# Both ignore the rotation; only CCA ignores the stretch. The Procrustes distance, which the
# paper uses, therefore still sees differences in how variance is spread across dimensions.
#
# ## Step 2: a small sweep
#
# A sweep is a grid. Here: the four Table S1 architectures (N = 125) on perceptual
# decision-making (PDM), two seeds, each trained to the task's criterion with the library's
# recipe, and the untrained twin of each. Every run is written to its own directory only when
# complete, so you can interrupt this cell and run it again: finished runs are kept.

# %%
workdir = Path(tempfile.mkdtemp(prefix="tutorial04_"))
sweep = {
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
}
table = run_sweep(sweep, workdir, workers=1)
table[["architecture", "seed", "trained", "steps", "metric_accuracy"]]

# %% [markdown]
# Untrained networks are at chance on average over networks (a single random network can be
# right or wrong on every trial of a sign task: its output is a fixed function of the
# evidence); trained ones pass the 90 % criterion.
#
# ## Step 3: a distance matrix and its MDS picture
#
# Each run stored its rates on the same 16 evaluation trials. We stack every step inside the
# trials into an activity matrix per network and compute all pairwise Procrustes distances.

# %%
runs = sorted((workdir / "runs" / "PDM").iterdir())
names = [r.name for r in runs]


def activity(run):
    data = load_trajectories(run)
    return np.concatenate([rates[:n] for rates, n in zip(data["rates"], data["length"])])


D = pairwise_distances([activity(r) for r in runs], alpha=1.0)
architectures = [n.split("_")[0] for n in names]
trained = [n.endswith("_trained") for n in names]
plot_mds(mds_embedding(D), architectures, trained, title="PDM: Procrustes distances")
plt.show()

# %% [markdown]
# Trained networks gather with trained networks and untrained with untrained, whatever their
# architecture: training, more than wiring, decides the geometry of the solution (the paper's
# Fig. S2C).
#
# ## Step 4: how close is each architecture to the fully connected networks?
#
# `report_sweep` does this for every task and writes the figures; Table S2's entry for an
# architecture is the mean over its trained networks of their mean distance to the trained
# fully connected ones.

# %%
report = report_sweep(workdir, psychometric_trials=200, progress=False)
print(report.markdown)

# %% [markdown]
# With two seeds per architecture the spread is large; the paper averages over 10
# initialisations and 27 hyper-parameter settings per task.
#
# ## Step 5: a shared solution, seen through CCA (Fig. 1C)
#
# CCA finds, for two networks, directions in each whose activity is maximally correlated. Drawn
# in those directions, the trajectories of a ConvRNN and a low-rank RNN trained on PDM lie on
# top of each other.

# %%
conv = load_trajectories(workdir / "runs/PDM/conv_n125_tanh_lr0.003_s0_trained")
lowrank = load_trajectories(workdir / "runs/PDM/lowrank_n125_tanh_lr0.003_s0_trained")
aligned = cca_align(conv["rates"], lowrank["rates"], n_components=2)
print("canonical correlations:", np.round(aligned.correlations, 3))
plot_aligned_trajectories(
    aligned, ("ConvRNN", "low-rank RNN"), lengths=conv["length"], conditions=conv["info.coherence"]
)
plt.show()

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: partial whitening
#
# Compute the distance between the ConvRNN (seed 0, trained) and the fully connected RNN
# (seed 0, trained) for `alpha` from 0 to 1 and plot it. Why does it grow with `alpha`?
#
# ### Exercise 2: trained versus untrained
#
# For each architecture, compare the distance between a trained network and its own untrained
# twin with the distance between two trained networks of different architectures. Which is
# larger, and what does it say?
#
# ### Exercise 3: held-out alignment
#
# Fit `LinearMetric(alpha=1)` on the first half of the samples and score on the second half
# (`fit(...).score(...)`). How does the held-out distance compare with the in-sample one, and
# what would a much larger held-out distance mean?
#
# Worked solutions: [solutions/04_comparing_solutions](../solutions/04_comparing_solutions/).
