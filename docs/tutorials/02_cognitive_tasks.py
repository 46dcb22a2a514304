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
# # Tutorial 2: cognitive tasks
#
# **Learning goals**
#
# * read the anatomy of a trial: epochs, inputs, the target and the scored steps (the mask);
# * see why an untrained network scores at chance, then train one with `cordsneuro.train`;
# * draw a learning curve, a psychometric curve and the population trajectories of a trained
#   network;
# * save a trained network and load it back.
#
# **Time:** about 30 minutes (training takes seconds to a minute on a laptop CPU).
# **Prerequisites:** [tutorial 1](../01_rate_network/); what a loss function and gradient
# descent are.
#
# Source: Soo et al. (NeurIPS 2024), Section 2.1 and Appendix B.3. The tasks are
# [neurogym](https://github.com/neurogym/neurogym) environments.

# %%
import os
import tempfile
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch

import cordsneuro
from cordsneuro import FullRNN, tasks, train
from cordsneuro.plotting import (
    plot_learning_curve,
    plot_psychometric,
    plot_trajectories,
    plot_trial,
)

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"  # shrink sizes for CI
torch.set_num_threads(1)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets

# %% [markdown]
# ## Step 1: anatomy of a trial
#
# In perceptual decision making (PDM, after Britten et al. 1992) a monkey watches moving dots
# and reports their net direction. Our version has one input: a noisy signal whose mean, the
# *coherence* $c \in \{\pm 0.4, \pm 0.2, \pm 0.1\}$, is shown for 800 ms. After a delay the
# network must answer the sign of $c$ with two outputs. Only the decision epoch is scored.
#
# `tasks.make_batch` draws whole trials at once: `inputs (batch, time, n_inputs)`,
# `targets (batch, time)`, `mask (batch, time)` and `trial_info`, which records each trial's
# conditions and where each epoch starts and ends (in steps of dt = 20 ms).

# %%
pdm = tasks.make("PDM", dt=20, seed=0)
batch = tasks.make_batch(pdm, 2, seed=0)
inputs, targets, mask, info = batch
print("inputs", tuple(inputs.shape), " targets", tuple(targets.shape), " mask", tuple(mask.shape))
print("coherences:", info["coherence"], " epochs:", [k[:-6] for k in info if k.endswith("_start")])

plot_trial(batch, dt=pdm.dt, trial=0, input_names=pdm.input_names,
           title=f"PDM, coherence {info['coherence'][0]:+.1f}")  # fmt: skip
plt.show()

# %% [markdown]
# The target is the class index (0: negative, 1: positive) during the scored epoch; elsewhere
# it is 0 and the mask is False, so those steps do not enter the loss.
#
# The other tasks of the paper follow the same pattern with other epochs and inputs. Here is
# one trial of each (the delayed match-to-sample task, DMS, holds a stimulus over a delay of up
# to 3 s):

# %%
fig, axes = plt.subplots(1, 5, figsize=(14, 2.6))
for ax, name in zip(axes, ["PDM", "PWM", "CDM", "MDM", "DMS"]):
    task = tasks.make(name, seed=1)
    b = tasks.make_batch(task, 1, seed=1)
    t = 20.0 * np.arange(1, b.inputs.shape[1] + 1)
    ax.plot(t, b.inputs[0].numpy(), lw=1)
    ax.fill_between(t, 0, b.mask[0].numpy() * float(b.inputs.max()), color="0.85", step="pre")
    ax.set(title=f"{name}: {b.inputs.shape[-1]} input(s)", xlabel="time (ms)")
axes[0].set_ylabel("inputs (grey: scored)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Step 2: untrained networks answer at chance
#
# A network's answer in a trial is its output averaged over the scored steps (argmax for a
# class). `tasks.evaluate` scores a model on held-out trials. PDM is so simple that a random
# network's two outputs often already differ with the sign of the input, but which output
# goes up for "positive" is a coin flip: one untrained network may score near 0 or near 1.
# Chance is what they score **on average**, 0.5.

# %%
n_neurons = 32 if SMALL else 64
seeds = range(1, 9)
untrained = [
    tasks.evaluate(FullRNN(n_neurons, 1, 2, seed=s), "PDM", n_trials=500).accuracy for s in seeds
]
print("accuracy of 8 untrained networks:", np.round(untrained, 2))
print("mean:", round(float(np.mean(untrained)), 2))

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.bar(seeds, untrained, color="0.6", label="untrained networks")
ax.axhline(0.5, color="k", ls="--", lw=1, label="chance")
ax.axhline(0.9, color="tab:green", lw=1, label="criterion")
ax.set(xlabel="seed", ylabel="held-out accuracy", ylim=(0, 1.05))
ax.legend(fontsize=7, loc="lower right")
plt.show()

# %% [markdown]
# We train the network that did worst (τ = 100 ms, dt = 20 ms, tanh: the defaults for
# cognitive tasks).

# %%
worst = seeds[int(np.argmin(untrained))]
model = FullRNN(n_neurons, input_size=1, output_size=2, gain=1.0, seed=worst)
before = tasks.evaluate(model, "PDM", n_trials=500)
print(f"seed {worst}:", before.summary(), "| criterion:", before.criterion)

# %% [markdown]
# ## Step 3: training
#
# `train` draws batches of trials, computes the loss on the scored steps (cross-entropy for a
# class, mean squared error for a continuous answer), takes AdamW steps and evaluates on a fixed
# held-out set every `eval_every` steps. `until="criterion"` stops as soon as the task's
# criterion (PDM: accuracy ≥ 0.9) is met.

# %%
result = train(model, "PDM", until="criterion", steps=300, lr=3e-3, batch_size=64, seed=0,
               eval_every=25, eval_trials=128 if SMALL else 512, progress=False)  # fmt: skip
print(f"reached the criterion: {result.reached} after {result.steps} steps "
      f"({result.seconds:.1f} s); held-out {result.metrics}")  # fmt: skip
plot_learning_curve(result.history)
plt.show()

# %% [markdown]
# ## Step 4: psychometric curve
#
# Like a monkey, the network should answer "positive" more often the more positive the
# coherence, and make more errors near zero. We evaluate it on a fine grid of coherences
# (conditions can be fixed per trial) and fit a logistic curve.

# %%
grid = np.linspace(-0.4, 0.4, 17)
per = 20 if SMALL else 100
after = tasks.evaluate(model, "PDM", n_trials=len(grid) * per, coherence=np.repeat(grid, per))
print(after.summary())
plot_psychometric(after)
plt.show()

# %% [markdown]
# ## Step 5: what the network does inside
#
# The rates of a trial form a trajectory in an N-dimensional space. Projected on their first
# two principal components, trials of different coherence separate along one direction during
# the stimulus: the network integrates the evidence.

# %%
coherences = np.repeat([-0.4, -0.2, -0.1, 0.1, 0.2, 0.4], 4)
batch = tasks.make_batch(pdm, len(coherences), seed=3, coherence=coherences)
with torch.no_grad():
    traj = model(batch.inputs)
plot_trajectories(traj.rates, conditions=coherences, times=traj.times, label="coherence")
plt.show()

# %% [markdown]
# ## Step 6: saving and loading
#
# `model.save(folder)` writes `config.json` and `weights.safetensors` (no pickles; written to a
# temporary name, then renamed, so a crash never leaves half a file). `cordsneuro.load(folder)`
# rebuilds the model, whatever its class; it scores exactly the same.
# (`train(..., checkpoint_dir=..., resume=True)` continues an interrupted training run.)

# %%
with tempfile.TemporaryDirectory() as folder:
    model.save(folder)
    print(sorted(os.listdir(folder)))
    loaded = cordsneuro.load(folder)
same = tasks.evaluate(loaded, "PDM", n_trials=500)
print(
    "original:", tasks.evaluate(model, "PDM", n_trials=500).summary(), "| loaded:", same.summary()
)

trial = tasks.make_batch(pdm, 1, seed=4)
with torch.no_grad():
    original, again = model(trial.inputs), loaded(trial.inputs)
fig, ax = plt.subplots(figsize=(5.5, 2.8))
ax.plot(original.times, original.outputs[0], lw=4, alpha=0.4)
ax.set_prop_cycle(None)
ax.plot(again.times, again.outputs[0], "--")
ax.set(xlabel="time (ms)", ylabel="outputs", title="one trial: original (thick), loaded (dashed)")
plt.show()

# %% [markdown]
# ## Exercises
#
# Worked solutions: [solutions/02_cognitive_tasks](../solutions/02_cognitive_tasks/) (the
# file `docs/tutorials/solutions/02_cognitive_tasks.py`).
#
# ### Exercise 1: a harder task
# Train a `FullRNN` on the context-dependent task `"CDM"` (4 inputs, 2 outputs) until its
# criterion, and plot its learning curve next to the PDM one. Which takes more steps? Plot one
# CDM trial with `plot_trial` first to see why.
#
# ### Exercise 2: noisier evidence
# Evaluate the trained PDM network on trials with more input noise
# (`tasks.make("PDM", noise_std=...)` with 0.1, 0.3 and 1.0) and draw the three psychometric
# curves on one axis (`plot_psychometric(ev, ax=ax)`). What happens to the slope?
#
# ### Exercise 3: interrupted training
# Train a fresh network for 40 steps with `checkpoint_dir=...`, then call `train` again with
# `steps=80, resume=True`. Compare its weights with a network trained 80 steps in one go from the
# same seed.
