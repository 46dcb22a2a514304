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
# # Solutions to tutorial 6: teaching CordsNet to see
#
# Worked solutions to the exercises of [tutorial 6](../../06_vision_training/). The first
# cell reruns the tutorial's CNN and fold stages (small sizes with
# `CORDSNEURO_TUTORIAL_SMALL=1`).

# %%
import os
import tempfile
from pathlib import Path

import torch

from cordsneuro.training.vision import evaluation as veval
from cordsneuro.training.vision import pipeline as vp
from cordsneuro.training.vision.data import load_dataset
from cordsneuro.training.vision.initialization import inverse_init, steady_state_errors

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"
torch.set_num_threads(1)
limits = dict(train_limit=128, test_limit=64) if SMALL else {}
run = vp.RunSpec("digits", Path(tempfile.mkdtemp()), depth=2, progress=False, **limits)
vp.run_stage(run, "cnn", epochs=5 if SMALL else None)
vp.run_stage(run, "fold")
vp.run_stage(run, "linear", epochs=0.25 if SMALL else None)

# %% [markdown]
# ## Exercise 1: the direct control
#
# From random weights, eq. 4 must teach the network both to see and to stay stable; with the
# same small budget it ends far below the network initialised from the CNN (Table 1,
# "Control (C)").

# %%
direct = vp.run_stage(run, "direct", epochs=0.1 if SMALL else 2)
print(f"direct control: {100 * direct['test']['accuracy']:.1f} %")

# %% [markdown]
# ## Exercise 2: the ridge
#
# A tiny ridge fits the fixed-point equation best but lets eigenvalues of `W` approach 1: the
# area then relaxes with time constant τ / (1 − λ), far longer than the 100 steps of eq. 8,
# so the state after 100 steps is still far from its fixed point. A large ridge settles fast
# but to a worse fixed point.

# %%
cnn = vp.load_stage_model(run, "cnn")
images, _ = vp.test_images(run, 64)
train_set, _ = load_dataset("digits", "train", augment=False)
train_images = torch.stack([train_set[i][0] for i in range(256 if SMALL else len(train_set))])
n_fit = len(train_images) * 4 // 5
for ridge in (1e-8, 1.0):
    model, _ = inverse_init(cnn, [train_images[:n_fit]], train_images[n_fit:], ridges=(ridge,))
    e100 = steady_state_errors(model, cnn, images, steps=100)
    e500 = steady_state_errors(model, cnn, images, steps=500)
    print(f"ridge {ridge:g}: 100 steps {[f'{e:.1e}' for e in e100]}, "
          f"500 steps {[f'{e:.1e}' for e in e500]}")  # fmt: skip

# %% [markdown]
# ## Exercise 3: is the linear network mono-stable?
#
# A stable linear system has exactly one fixed point per input, so without input it relaxes
# back towards its single spontaneous state, which is why eq. 8 needs no spontaneous penalty.
# How close it gets within 200 ms depends on its slowest eigenvalue.

# %%
linear = vp.load_stage_model(run, "linear")
images, labels = vp.test_images(run, 64)
mono = veval.mono_stability(linear, images, labels)
print({k: v for k, v in mono.items() if isinstance(v, (bool, float))})
