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
# # Solutions to tutorial 7: monkey tasks the network sees
#
# The setup of the tutorial, in brief: a random CordsNet-R2 front end on 16 × 16 grey images
# (biases drawn so that its areas are spontaneously active) feeding a `FullRNN`.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy import ndimage

from cordsneuro import CordsNet, MultiAreaModel, tasks, train
from cordsneuro.analyses import category_index, trial_responses
from cordsneuro.tasks import stimuli

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"
torch.set_num_threads(1)
torch.manual_seed(0)  # the front end's random biases below
size = 16
front_end = CordsNet(2, in_channels=1, num_classes=10, image_size=size, seed=0)
with torch.no_grad():
    for b in front_end.area_bias:
        b.normal_(0.05, 0.05)


def fit(name: str, timing: dict, steps: int = 300):
    """A multi-area model trained on ``name``; returns it, the held-out batch and evaluation."""
    task = tasks.make(name, timing=timing, image_size=size, pool=64)
    model = MultiAreaModel(front_end, output_size=task.n_outputs, n_neurons=64 if SMALL else 128,
                           pool_size=2, seed=0)  # fmt: skip
    model.calibrate(tasks.make_batch(task, 32, seed=0).inputs)
    train(model, task, steps=steps if SMALL else 500, batch_size=8 if SMALL else 32, lr=3e-3,
          eval_every=100, eval_trials=64, progress=False)  # fmt: skip
    test_task = tasks.make(name, timing=timing, image_size=size, stimulus_seed=1)
    test = tasks.make_batch(test_task, 48 if SMALL else 256, seed=1)
    return model, test, tasks.evaluate(model, test_task, batch=test)


# %% [markdown]
# ## Exercise 1: the other invariants, from the pixels
#
# `ndimage.label` finds the dots' interiors (pixels more than half covered; the anti-aliased
# rims of two nearby dots can touch, their interiors cannot); each rim pixel goes to the
# nearest interior. A dot's area is the sum of its pixels (the pixel values are covered
# fractions), its radius √(A/π), its circumference 2π r.


# %%
def measure(image: np.ndarray) -> tuple[int, float, float]:
    """Number of dots, total area and total circumference (px) of a display image."""
    cores, n = ndimage.label(image[0] > 0.5)  # dot interiors: separate even where edges touch
    # give every partly covered edge pixel to the nearest dot interior
    _, (rows, cols) = ndimage.distance_transform_edt(cores == 0, return_indices=True)
    labels = cores[rows, cols] * (image[0] > 0)
    areas = ndimage.sum(image[0], labels, index=np.arange(1, n + 1))
    return n, float(areas.sum()), float((2 * np.pi * np.sqrt(areas / np.pi)).sum())


seeds = range(6 if SMALL else 40)
fig, axes = plt.subplots(1, 2, figsize=(8, 3))
for control, colour in (("standard", "0.5"), ("area", "tab:green"),
                        ("circumference", "tab:purple")):  # fmt: skip
    m = np.array(
        [[measure(stimuli.numerosity(n, control, image_size=32, seed=s).image) for s in seeds]
         for n in stimuli.NUMEROSITIES]
    )  # fmt: skip
    # m: (numbers, seeds, 3)
    assert (m[..., 0] == np.array(stimuli.NUMEROSITIES)[:, None]).all()  # the dots are counted
    for ax, k, what in zip(axes, (1, 2), ("total area", "total circumference")):
        ax.errorbar(stimuli.NUMEROSITIES, m[..., k].mean(1), yerr=m[..., k].std(1), fmt="o-",
                    color=colour, label=control)  # fmt: skip
        ax.set(xlabel="number of dots", ylabel=f"{what} (px)")
    print(f"{control:13s} area {np.round(m[..., 1].mean(1), 1)}  "
          f"circumference {np.round(m[..., 2].mean(1), 1)}")  # fmt: skip
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# In the circumference set the total circumference stays at 2π · 0.16 · 32 ≈ 32 px for every
# number (up to the anti-aliasing of small dots), while the total area *falls* with the
# number (many small dots have less area than one large dot of the same total circumference):
# a network that counted white pixels would get these displays backwards.
#
# ## Exercise 2: a categorical boundary

# %%
category_timing = {"fixation": 100, "sample": 200, "delay": 200, "decision": 100}
model, test, evaluation = fit("Category", category_timing, steps=200)
level = test.trial_info["level"]
choice = evaluation.per_trial["choice"]
levels = np.unique(level)
p_dog = [float((choice[level == v] == 1).mean()) for v in levels]
print("held-out accuracy", round(evaluation.accuracy, 3))
print("fraction 'dog' per morph level:", dict(zip(levels.tolist(), np.round(p_dog, 2).tolist())))
fig, ax = plt.subplots(figsize=(3.8, 3))
ax.plot(levels, p_dog, "o-", color="tab:purple")
ax.axvline(50, color="0.6", ls="--")
ax.set(xlabel="morph level (% dog)", ylabel='fraction "dog"', title="categorical curve")
plt.show()

with torch.no_grad():
    rates = model(test.inputs).rates
t = np.arange(rates.shape[1])[None]
delay = (t >= test.trial_info["delay_start"][:, None]) & (t < test.trial_info["delay_end"][:, None])
responses = trial_responses(rates, delay)
d = category_index(responses, (level > 50).astype(int))
best = np.argsort(-np.abs(d))[:4]
print("units with the largest |d'| (dog − cat) in the delay:", best, np.round(d[best], 1))
fig, ax = plt.subplots(figsize=(3.8, 3))
for u in best:
    ax.plot(levels, [responses[level == v, u].mean() for v in levels], "o-", label=f"unit {u}")
ax.axvline(50, color="0.6", ls="--")
ax.set(xlabel="morph level (% dog)", ylabel="delay rate", title="category-selective units")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# The answers step from "cat" to "dog" between 40 and 60 %, the boundary the task rewards,
# and the most category-selective units change their delay rate across the boundary more
# than within a category: the sharp step of Freedman et al.'s prefrontal neurons. (The morphs
# within a category differ too, so a unit's curve need not be perfectly flat on each side.)
#
# ## Exercise 3: a longer memory

# %%
timing = {"fixation": 100, "cue": 100, "delay": 300, "response": 100}
model, _, ev = fit("DelayedResponse", timing)
print(f"trained with a 300 ms delay: held-out accuracy {ev.accuracy:.3f}")
delays = [300, 1000, 3000]
accuracy, long_test = [], None
for delay_ms in delays:
    longer = tasks.make("DelayedResponse", timing={**timing, "delay": delay_ms}, image_size=size,
                        stimulus_seed=1)  # fmt: skip
    batch = tasks.make_batch(longer, 8 if SMALL else 128, seed=2)
    accuracy.append(tasks.evaluate(model, longer, batch=batch).accuracy)
    long_test = batch
    print(f"delay {delay_ms:4d} ms: accuracy {accuracy[-1]:.3f}")
fig, axes = plt.subplots(1, 2, figsize=(8, 3))
axes[0].plot(delays, accuracy, "o-", color="tab:purple")
axes[0].axhline(1 / 8, color="0.5", ls="--", label="chance")
axes[0].axvline(300, color="0.7", lw=0.8)
axes[0].set(xscale="log", xlabel="delay (ms)", ylabel="accuracy", ylim=(0, 1.05),
            title="trained at 300 ms (grey line)")  # fmt: skip
axes[0].legend(fontsize=7)
with torch.no_grad():
    rates = model(long_test.inputs).rates.numpy()  # the 3000 ms delay
position = long_test.trial_info["position"]
unit = int(np.argmax(rates.std(axis=(0, 1))))
times = np.arange(rates.shape[1]) * model.dt
for k in range(0, 8, 2):
    trial = int(np.flatnonzero(position == k)[0]) if (position == k).any() else None
    if trial is not None:
        axes[1].plot(times, rates[trial, :, unit], label=f"cue {45 * k}°")
for epoch in ("delay", "response"):
    axes[1].axvline(long_test.trial_info[f"{epoch}_start"][0] * model.dt, color="k", lw=0.8)
axes[1].set(xlabel="time (ms)", ylabel=f"rate of unit {unit}", title="a 3 s delay")
axes[1].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# Nothing in training asked the network to hold the position for longer than 300 ms. In our
# full-size run (128 trials per delay) the accuracy was 1.0 at 300 ms and 1 s and 0.94 at
# 3 s: the rates drift during the long delay (with `CORDSNEURO_TUTORIAL_SMALL=1`, 8 trials
# per delay are too few to see the drop). If the rates settled into position-specific
# steady states (persistent activity, as in the prefrontal neurons of Funahashi et al.), the
# memory would last at any delay; as they drift slowly, the answer read at 300 ms is partly
# lost later. Training on variable delays (e.g.
# `timing={"delay": ("uniform", (300, 3000))}`) asks the network for the first solution.
