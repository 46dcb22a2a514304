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
# # Tutorial 7: monkey tasks the network sees (Fig. 5)
#
# RNN models of monkey experiments are usually fed abstract numbers: "the cue was at 135°".
# Here the network sees the images the monkeys saw. A CordsNet front end turns each frame into
# visual features, and a recurrent network behind it holds them in memory and answers (paper
# Section 5, Fig. 5).
#
# **Learning goals**
#
# * draw the stimuli of four classic experiments (numerosity, cat/dog categories, oculomotor
#   delayed response, random-dot motion) and check their definitions from the pixels;
# * run an image task as a batch of trials `(batch, time, channels, height, width)`;
# * build a `MultiAreaModel` (a frozen CordsNet feeding a `FullRNN`), train it, evaluate it;
# * measure the tuning of its units to the task's condition.
#
# **Time:** about 30 minutes (about a minute of computing on a laptop CPU; seconds with
# `CORDSNEURO_TUTORIAL_SMALL=1`).
# **Prerequisites:** tutorials [2](../02_cognitive_tasks/) (tasks and training) and
# [5](../05_cordsnet/) (CordsNet).
#
# Source: Soo et al. (NeurIPS 2024), Section 5, Fig. 5; the experiments of Nieder, Freedman &
# Miller (2002), Freedman et al. (2001), Funahashi, Bruce & Goldman-Rakic (1989) and Roitman &
# Shadlen (2002). Reference page: [Image-computable tasks](../../image_tasks/).
#
# > **Random weights.** The front end here is a CordsNet-R2 with **random, untrained
# > weights** on 16 × 16 grey images, so that the notebook runs anywhere in seconds. Only the
# > RNN behind it is trained. The paper's front end is CordsNet-R8 trained on ImageNet; with a
# > random front end the easy tasks (where is the cue? cat or dog?) are learned, the hard ones
# > (number, motion direction) are not — see the measured table on the reference page.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro import CordsNet, MultiAreaModel, tasks, train
from cordsneuro.analyses import trial_responses, unit_tuning
from cordsneuro.plotting import plot_learning_curve, plot_trial_strip, plot_tuning
from cordsneuro.tasks import stimuli

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"  # shrink sizes for CI
torch.set_num_threads(1)
torch.manual_seed(0)  # the front end's random biases below
size = 16  # image side in pixels (the paper: 224)


def strip(images, titles, suptitle=""):
    """Draw grey images ``(C, H, W)`` side by side."""
    fig, axes = plt.subplots(1, len(images), figsize=(1.4 * len(images), 1.7), squeeze=False)
    for ax, img, t in zip(axes[0], images, titles):
        ax.imshow(np.asarray(img)[0], cmap="gray", vmin=0, vmax=1)
        ax.set(xticks=[], yticks=[])
        ax.set_title(t, fontsize=8)
    fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig


# %% [markdown]
# ## Step 1: numerosity displays and their controls
#
# Nieder, Freedman & Miller (2002) showed monkeys 1–5 dots and asked whether a second display
# showed the same number. A network could cheat: more dots usually means more white pixels. So
# the study used **control sets** in which a non-numerical feature is the same for every
# number: the total dot area (`"area"`), the total circumference (`"circumference"`), or the
# configuration (`"linear"`: on a line, `"shape"`: a regular polygon). `stimuli.numerosity`
# returns a `Display` with the image and the dots' centres and radii.

# %%
for control in stimuli.CONTROL_SETS:
    displays = [stimuli.numerosity(n, control, image_size=32, seed=n) for n in stimuli.NUMEROSITIES]
    strip([d.image for d in displays], [f"n = {d.n}" for d in displays], f"control: {control}")
    plt.show()

# %% [markdown]
# Check the equal-area invariant from the pixels alone: the image's values are the fraction of
# each pixel a dot covers, so the pixel sum is the total dot area. In the standard set it
# grows with the number; in the `"area"` set it does not.

# %%
seeds = range(10 if SMALL else 40)
fig, ax = plt.subplots(figsize=(4.5, 3))
for control, colour in (("standard", "0.5"), ("area", "tab:purple")):
    area = np.array(
        [[stimuli.numerosity(n, control, image_size=32, seed=s).image.sum() for s in seeds]
         for n in stimuli.NUMEROSITIES]
    )  # fmt: skip
    ax.errorbar(stimuli.NUMEROSITIES, area.mean(1), yerr=area.std(1), fmt="o-", color=colour,
                label=control)  # fmt: skip
    print(f"{control:9s} total area (px) per n:", np.round(area.mean(1), 1))
ax.set(xlabel="number of dots", ylabel="pixel sum (total dot area, px)",
       title="equal-area control, measured from pixels")  # fmt: skip
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Step 2: cat/dog morphs, cue positions, moving dots
#
# **Categories** (Freedman et al. 2001): a cat head morphed into a dog head in steps of % dog;
# the category boundary is at 50 %. **Delayed response** (Funahashi et al. 1989): a central
# fixation point and a cue at one of 8 positions, every 45°. **Motion** (Roitman & Shadlen
# 2002): random dots, of which a fraction — the *coherence* — moves the same way on each
# frame while the others jump at random.

# %%
levels = [0, 20, 40, 60, 80, 100]
strip([stimuli.category_morph(v, image_size=32) for v in levels],
      [f"{v} % dog" for v in levels], "cat → dog morphs (boundary 50 %)")  # fmt: skip
plt.show()
positions = range(stimuli.N_POSITIONS)
strip([stimuli.odr_frame(True, k, image_size=32) for k in positions],
      [f"{45 * k}°" for k in positions], "delayed response: the 8 cues")  # fmt: skip
plt.show()
movie = stimuli.random_dots(1.0, +1, n_frames=6, image_size=32, seed=0)
strip(movie.frames, [f"frame {t}" for t in range(6)], "100 % coherent, rightward")
plt.show()

# %% [markdown]
# Is the coherence what it claims? Measure it from the frames: a coherent dot at pixel
# `(row, col)` in frame t was at `(row, col − speed)` in frame t − 1; a replotted dot lands on
# a lit pixel of the shifted previous frame only by chance (with probability the fraction of
# lit pixels, p). So the fraction f of lit pixels whose predecessor was lit estimates
# `coherence + (1 − coherence) · p`.


# %%
def measured_coherence(frames: np.ndarray, speed: int, direction: int = +1) -> float:
    """Coherence estimated from frames ``(T, C, H, W)`` in {0, 1}."""
    x = frames[:, 0]
    shifted = np.roll(x[:-1], direction * speed, axis=2)  # where coherent dots would be now
    f = (x[1:] * shifted).sum() / x[1:].sum()
    p = x.mean()
    return float((f - p) / (1 - p))


coherences = stimuli.COHERENCES_MOTION
n_frames = 30 if SMALL else 100
movies = [stimuli.random_dots(c, +1, n_frames, image_size=32, seed=1) for c in coherences]
measured = [measured_coherence(m.frames, m.speed) for m in movies]
for c, m in zip(coherences, measured):
    print(f"nominal {c:5.3f}  measured {m:6.3f}")
fig, ax = plt.subplots(figsize=(3.5, 3))
ax.plot([0, 0.55], [0, 0.55], color="0.7", lw=0.8)
ax.plot(coherences, measured, "o", color="tab:purple")
ax.set(xlabel="nominal coherence", ylabel="measured from frames", title="random-dot motion")
plt.show()

# %% [markdown]
# (Two dots landing on one pixel, or a coherent dot wrapping onto another, make the estimate
# wobble by a few per cent; the library's tests measure it exactly from dot correspondences.)
#
# ## Step 3: an image task as a batch of trials
#
# The four experiments are cognitive tasks like those of tutorial 2 — epochs with durations in
# ms, conditions, an answer scored in one epoch — whose observation is an image. `tasks.make`
# builds one (any epoch durations can be shortened with `timing`); `tasks.make_batch` draws
# trials as tensors, with the images in `inputs` of shape `(batch, time, C, H, W)`.
#
# We shorten the delayed-response task (the study: 1 s fixation, 0.5 s cue, 3 s delay) to a
# 600 ms trial. `pool=64` makes the training set a fixed pool of 64 trials.

# %%
timing = {"fixation": 100, "cue": 100, "delay": 300, "response": 100}  # ms
task = tasks.make("DelayedResponse", timing=timing, image_size=size, pool=64)
batch = tasks.make_batch(task, 16, seed=0)
print("inputs", tuple(batch.inputs.shape), "targets", tuple(batch.targets.shape),
      "outputs:", task.n_outputs, "| dt =", task.dt, "ms")  # fmt: skip
print("cue positions of the first trials:", batch.trial_info["position"][:8])
plot_trial_strip(batch.inputs, batch.trial_info, index=0, title="a delayed-response trial",
                 per_epoch=2)  # fmt: skip
plt.show()

# %% [markdown]
# ## Step 4: a multi-area model
#
# `MultiAreaModel(front_end, ...)` freezes a CordsNet and connects its last area, average-pooled
# to a `pool_size × pool_size` grid and minus its spontaneous value, to a `FullRNN` (τ = 100
# ms, dt = 20 ms, tanh). Each area keeps its clock: per 20 ms step of the RNN, the front end
# takes 10 Euler steps of 2 ms (τ = 10 ms). `calibrate` scales the RNN's input weights so
# that its input is of unit size.
#
# Our front end: a **random** CordsNet-R2 (its bias drawn so that the areas are spontaneously
# active, as in tutorial 5). Its features still say *where* something bright is, which is all
# the delayed-response task needs. `pool_size=2` averages the last area over each quadrant of
# its grid (the paper: `pool_size=1`, one global average).

# %%
front_end = CordsNet(2, in_channels=1, num_classes=10, image_size=size, seed=0)
with torch.no_grad():
    for b in front_end.area_bias:
        b.normal_(0.05, 0.05)
model = MultiAreaModel(front_end, output_size=task.n_outputs, n_neurons=64 if SMALL else 128,
                       pool_size=2, seed=0)  # fmt: skip
scale = model.calibrate(batch.inputs)
print(f"front end: {front_end.n_neurons:,} neurons, areas {front_end.state_shapes}")
print(f"RNN: {model.rnn.n_neurons} neurons reading {model.rnn.input_size} features "
      f"(64 channels × 2 × 2); calibration scale {scale:.3g}")  # fmt: skip

with torch.no_grad():
    features, _ = model.front_end_features(batch.inputs[:1])
fig, ax = plt.subplots(figsize=(5, 2.8))
ax.imshow(features[0].T.numpy(), aspect="auto", cmap="RdBu_r")
for epoch in ("cue", "delay", "response"):
    ax.axvline(batch.trial_info[f"{epoch}_start"][0] - 0.5, color="k", lw=0.8)
ax.set(xlabel="step (20 ms)", ylabel="feature",
       title="what the RNN receives (trial 0; lines: cue, delay, response)")  # fmt: skip
plt.show()

# %% [markdown]
# The features react to the cue and fall back when it goes off: the front end has no memory
# beyond its 10 ms time constant. Holding the position through the delay is the RNN's job.
#
# ## Step 5: train and evaluate
#
# `cordsneuro.train` works as in tutorial 2; only the RNN's weights change. The front end's
# features for each pool trial are computed once and cached, so training is quick. We then
# score the model on **new** trials (another `stimulus_seed`).

# %%
result = train(model, task, steps=300 if SMALL else 500, batch_size=16 if SMALL else 32,
               lr=3e-3, eval_every=50, eval_trials=64, progress=False)  # fmt: skip
print(f"{result.steps} steps in {result.seconds:.1f} s")
plot_learning_curve(result.history)
plt.show()

test_task = tasks.make("DelayedResponse", timing=timing, image_size=size, stimulus_seed=1)
test = tasks.make_batch(test_task, 48 if SMALL else 256, seed=1)
evaluation = tasks.evaluate(model, test_task, batch=test)
print(f"held-out accuracy {evaluation.accuracy:.3f} (chance 1/8 = 0.125)")
choice, position = evaluation.per_trial["choice"], test.trial_info["position"]
confusion = np.zeros((8, 8))
np.add.at(confusion, (position, choice), 1)
fig, ax = plt.subplots(figsize=(3.4, 3))
ax.imshow(confusion / confusion.sum(1, keepdims=True).clip(1), cmap="magma", vmin=0, vmax=1)
ax.set(xlabel="reported position", ylabel="cue position", title="held-out trials")
plt.show()

# %% [markdown]
# ## Step 6: unit tuning
#
# Like a prefrontal neuron recorded by Funahashi et al., each RNN unit can be asked: does its
# rate during the delay depend on where the cue was? `trial_responses` averages each unit's
# rate over one epoch of every trial; `unit_tuning` returns the tuning curve per condition and
# the selectivity η² (the fraction of the unit's variance over trials that the condition
# explains), with a one-way ANOVA.

# %%
with torch.no_grad():
    rates = model(test.inputs).rates  # (trials, time, RNN neurons)
t = np.arange(rates.shape[1])[None]
delay = (t >= test.trial_info["delay_start"][:, None]) & (t < test.trial_info["delay_end"][:, None])
tuning = unit_tuning(trial_responses(rates, delay), position, name="cue position")
print(f"units selective at p < 0.01: {tuning.fraction_selective(0.01):.0%}")
plot_tuning(tuning, k=4, xlabel="cue position (× 45°)")
plt.show()

fig, ax = plt.subplots(figsize=(4, 2.6))
ax.hist(tuning.preferred[np.nan_to_num(tuning.selectivity) > 0.5], bins=np.arange(9) - 0.5,
        color="tab:purple")  # fmt: skip
ax.set(xlabel="preferred cue position (× 45°)", ylabel="units (η² > 0.5)",
       title="the delay activity tiles the positions")  # fmt: skip
plt.show()

# %% [markdown]
# Trials with the same cue are pixel-identical and this RNN has no private noise, so a unit
# that varies at all is perfectly explained by the position (η² = 1). Real neurons are noisy;
# `MultiAreaModel(..., noise_std=...)` adds noise to the RNN.
#
# ## Exercises
#
# Worked solutions: [solutions/07_image_tasks](../solutions/07_image_tasks/) (the file
# `docs/tutorials/solutions/07_image_tasks.py`).
#
# ### Exercise 1: the other invariants, from the pixels
# Measure, from the pixels alone, the total circumference of the `"circumference"` displays
# (hint: `scipy.ndimage.label` separates the dots; a dot of area A has radius √(A/π)) and show
# that it does not change with the number of dots, while the total area does.
#
# ### Exercise 2: a categorical boundary
# Train the same kind of model on `"Category"` (timing e.g. fixation 100, sample 200, delay
# 200, decision 100 ms) and plot the fraction of "dog" answers against the morph level on new
# trials. Where is the step? Which units separate the categories best
# (`cordsneuro.analyses.category_index`)?
#
# ### Exercise 3: a longer memory
# The model was trained with a 300 ms delay; the monkeys of Funahashi et al. waited 3 s. Without
# retraining, evaluate it on new trials with delays of 300, 1000 and 3000 ms and plot the
# accuracy against the delay. Does the memory last? Look at the RNN's rates over a long delay
# for a few cue positions: what happens to them?
