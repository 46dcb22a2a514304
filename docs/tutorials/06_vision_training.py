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
# # Tutorial 6: teaching CordsNet to see
#
# **Learning goals**
#
# * run the paper's four-step training method (Section 3, Fig. 2B): a feedforward CNN, its
#   BatchNorm folded into a *linear* CordsNet whose steady state reproduces each CNN layer
#   (eq. 5–7), end-to-end training of the linear model (eq. 8), then annealing to ReLU and
#   fine-tuning with the full loss (eq. 4);
# * check that the initialisation works: the linear network's steady state against the CNN's
#   layers, accuracy at every stage;
# * test the trained network the way the paper does: accuracy over time within a trial and
#   the mono-stability check of Appendix D.
#
# **Time:** about 30 minutes (5–10 minutes of computing on two CPU cores; seconds with
# `CORDSNEURO_TUTORIAL_SMALL=1`, which trains on a few images only).
# **Prerequisites:** tutorial [5](../05_cordsnet/).
#
# Data: scikit-learn's bundled 8 × 8 handwritten digits, so nothing is downloaded. The same
# calls (or `cordsneuro vision train`) train on MNIST, CIFAR or ImageNet; see
# [Vision training](../../vision_training/). Solutions: [solutions/06_vision_training](../solutions/06_vision_training/).

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from cordsneuro.training.vision import evaluation as veval
from cordsneuro.training.vision import pipeline as vp

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"  # shrink sizes for CI
torch.set_num_threads(1)
out = Path(tempfile.mkdtemp(prefix="cordsnet_digits_"))
limits = dict(train_limit=128, test_limit=64) if SMALL else {}
run = vp.RunSpec("digits", out, depth=2, seed=0, progress=False, **limits)
print("stages write to", out)

# %% [markdown]
# ## Step 1: the feedforward CNN
#
# `CordsNetCNN` has CordsNet's wiring with every recurrent area replaced by one pass through
# two convolutions and BatchNorm. It trains fast: SGD with three learning rates (0.1, 0.01,
# 0.001), each with a short warm-up (Table S4). The `digits` preset runs 3 epochs per
# learning rate.

# %%
cnn_result = vp.run_stage(run, "cnn", epochs=5 if SMALL else None)
print(f"CNN test accuracy: {100 * cnn_result['test']['accuracy']:.1f} %")

# %% [markdown]
# ## Step 2: fold, invert, and train the linear CordsNet
#
# A linear area (identity σ) driven by a constant input settles at
# $r_\infty = (I - W)^{-1}(b + W_{inp} h)$ (eq. 7). The `fold` stage folds BatchNorm into
# the convolutions (eq. 5) and chooses $W$, $W_{inp}$ and $b$ of every area so that this
# steady state equals the CNN layer's output on the training images. Then `linear` trains
# the linear network end to end with eq. 8.

# %%
fold = vp.run_stage(run, "fold")
for name, errors in fold["relative_error_per_area"].items():
    print(name, [f"{e:.1e}" for e in errors])
print(f"linear CordsNet right after the fold: {100 * fold['test']['accuracy']:.1f} % "
      f"(CNN {100 * fold['cnn_test']['accuracy']:.1f} %)")  # fmt: skip
linear = vp.run_stage(run, "linear", epochs=0.25 if SMALL else None)

# %% [markdown]
# ## Steps 3–4: anneal to ReLU, fine-tune
#
# The identity becomes a PReLU whose negative slope falls from 0.95 to 0 in 20 steps
# (Table S4), each trained with the full loss eq. 4 (classification over steps 170–200 plus a
# penalty on the distance from the spontaneous state at steps 290–300); then the ReLU network
# is fine-tuned with eq. 4.

# %%
anneal = vp.run_stage(run, "anneal", slopes=(0.5, 0.0) if SMALL else None)
finetune = vp.run_stage(run, "finetune", epochs=0.1 if SMALL else None)
for name, r in (("cnn", cnn_result), ("linear", linear), ("anneal", anneal),
                ("finetune", finetune)):  # fmt: skip
    print(f"{name:<9} {100 * r['test']['accuracy']:5.1f} %")

# %% [markdown]
# ## Testing it like the paper
#
# The network classifies while the image is on; the paper scores it over the inference window
# 140–200 ms after the onset. After the image goes off it should return to its spontaneous
# state, so that the next image is classified as well as the first (mono-stability).

# %%
model = vp.load_stage_model(run, "finetune")
images, labels = vp.test_images(run, 64 if SMALL else None)
curve = veval.accuracy_over_time(model, images, labels)
mono = veval.mono_stability(model, images, labels)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(curve["time_ms"], 100 * curve["accuracy"])
ax.axvspan(140, 200, color="0.9")
ax.set(xlabel="time from image onset (ms)", ylabel="accuracy (%)", ylim=(0, 100))
plt.show()
print({k: v for k, v in mono.items() if isinstance(v, (bool, float))})

# %% [markdown]
# The finished model carries its preprocessing and class names: `cordsnet_r2(weights=path)`
# loads it, and `classify` takes raw pixels in [0, 1].

# %%
from cordsneuro.models import cordsnet_r2  # noqa: E402
from cordsneuro.training.vision.data import DigitsDataset  # noqa: E402

loaded = cordsnet_r2(weights=out / "finetune" / "model")
raw = DigitsDataset("test").images[:8]  # pixels in [0, 1], not normalised
print(loaded.classify(raw, return_names=True)[1])

# %% [markdown]
# ## Exercise 1
#
# Train the `direct` control (CordsNet from random initialisation, eq. 4) for the same
# number of epochs as the fine-tuning. How far is it from the fine-tuned network?
#
# ## Exercise 2
#
# The fold stage chooses a ridge penalty on each area's recurrent weights. Call
# `cordsneuro.training.vision.initialization.inverse_init` yourself with a single large
# ridge (`ridges=(1.0,)`) and a single tiny one (`ridges=(1e-8,)`), and compare
# `steady_state_errors` after 100 and 500 steps. Why does the tiny ridge settle slowly?
#
# ## Exercise 3
#
# Run `mono_stability` on the linear model of step 2 (`vp.load_stage_model(run, "linear")`).
# Does a linear network return to its spontaneous state?
