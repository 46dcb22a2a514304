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
# # Solutions to tutorial 2: cognitive tasks
#
# Worked solutions to the exercises of [tutorial 2](../../02_cognitive_tasks/).

# %%
import os
import tempfile
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro import FullRNN, tasks, train
from cordsneuro.plotting import plot_learning_curve, plot_psychometric, plot_trial

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"
torch.set_num_threads(1)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
n_neurons = 32 if SMALL else 64
eval_trials = 128 if SMALL else 512

# %% [markdown]
# ## Exercise 1: a harder task
#
# In CDM two noisy signals arrive at once and a context cue says which one to report: the
# network must gate its inputs. It needs more steps than PDM to reach the criterion.

# %%
cdm = tasks.make("CDM", seed=0)
plot_trial(tasks.make_batch(cdm, 1, seed=0), dt=cdm.dt, input_names=cdm.input_names)
plt.show()

curves = {}
for name, n_in in (("PDM", 1), ("CDM", 4)):
    net = FullRNN(n_neurons, n_in, 2, seed=0)
    res = train(net, name, until="criterion", steps=200 if SMALL else 600, lr=3e-3,
                eval_every=25, eval_trials=eval_trials, seed=0, progress=False)  # fmt: skip
    curves[name] = res
    print(f"{name}: criterion reached {res.reached} after {res.steps} steps, {res.metrics}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, (name, res) in zip(axes, curves.items()):
    plot_learning_curve(res.history, ax=ax)
    ax.set_title(name)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Exercise 2: noisier evidence
#
# More noise per step makes the evidence weaker: the psychometric curve gets shallower (the
# fitted logistic's scale grows) and accuracy at low coherence drops towards chance.

# %%
model = FullRNN(n_neurons, 1, 2, seed=0)
train(model, "PDM", until="criterion", steps=300, lr=3e-3, eval_every=25,
      eval_trials=eval_trials, seed=0, progress=False)  # fmt: skip
grid = np.linspace(-0.4, 0.4, 17)
per = 20 if SMALL else 100
fig, ax = plt.subplots(figsize=(4.8, 3.5))
for noise in (0.1, 0.3, 1.0):
    task = tasks.make("PDM", noise_std=noise)
    ev = tasks.evaluate(model, task, n_trials=len(grid) * per, coherence=np.repeat(grid, per))
    plot_psychometric(ev, ax=ax)
    ax.lines[-2].set_label("_nolegend_")  # the data points; keep the fitted curve's label
    ax.lines[-1].set_label(f"noise sd {noise}")
    print(f"noise sd {noise}: {ev.summary()}")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# ## Exercise 3: interrupted training
#
# The checkpoint holds the weights, the optimiser state and the task's random streams, so the
# resumed run continues exactly where it stopped: the weights are bit for bit those of an
# uninterrupted run.

# %%
kwargs = dict(lr=3e-3, batch_size=32, seed=0, eval_every=20, eval_trials=64, progress=False)
with tempfile.TemporaryDirectory() as folder:
    a = FullRNN(n_neurons, 1, 2, seed=0)
    train(a, "PDM", steps=40, checkpoint_dir=folder, **kwargs)
    train(a, "PDM", steps=80, checkpoint_dir=folder, resume=True, **kwargs)
b = FullRNN(n_neurons, 1, 2, seed=0)
train(b, "PDM", steps=80, **kwargs)
with torch.no_grad():
    difference = max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters()))
print("largest weight difference, resumed vs uninterrupted:", difference)
