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
# # Tutorial 5: CordsNet, a convolutional RNN that sees
#
# **Learning goals**
#
# * see how CordsNet turns every convolutional layer of a CNN into a dynamical RNN area
#   (paper eq. 3), with τ = 10 ms and dt = 2 ms;
# * run stimulus protocols (spontaneous activity, images, blanks, sequences) and record the
#   activity of every area over time (Fig. 3B);
# * measure how much white noise on the image disturbs the network, against a feedforward CNN
#   (Fig. 3C).
#
# **Time:** about 30 minutes (a minute or two of computing on a laptop CPU).
# **Prerequisites:** tutorial [1](../01_rate_network/); what a convolutional neural network is.
#
# Source: Soo et al. (NeurIPS 2024), Sections 2–3, Fig. 2A, 3B–C, Appendix C.1.
#
# > **Random weights.** This tutorial uses untrained CordsNets with random weights at a small
# > image size, so that it runs anywhere without downloads. The mechanics (protocols,
# > recordings, noise) are those of the trained model, but the numbers are not the paper's:
# > its Fig. 3 uses CordsNet-R8 trained on ImageNet, which `cordsnet_r8(weights="imagenet")`
# > downloads (50 MB; see the end of this notebook).

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro import CordsNet
from cordsneuro.models import CordsNetCNN, Epoch, Protocol, area_sizes
from cordsneuro.plotting import plot_activity_sequence, plot_noise_robustness

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"  # shrink sizes for CI
torch.set_num_threads(1)
size = 32  # image side in pixels (the paper: 224 for ImageNet, 32 for CIFAR-10)

# %% [markdown]
# ## Step 1: a CNN whose layers are dynamical systems
#
# A CNN maps an image to features in one pass. CordsNet replaces each convolutional layer $l$
# by an *area* of rate neurons arranged on a grid (channels × height × width), obeying
#
# $$ \tau \frac{d r_l}{dt} = -r_l + \sigma\big(\mathrm{Conv}_{rec,l}(r_l) + b_l
#    + \mathrm{Conv}_{inp,l}(h_l)\big), $$
#
# where $h_l$ is the input from the areas below (ReLU of their rates) or the image. The
# recurrent convolution lets every neuron talk to its neighbours; the areas run in parallel
# in continuous time, so the image's information arrives at deeper areas later. CordsNet-R2 …
# R8 have 2 … 8 areas, with 64, 64, 128, 128, 256, 256, 512, 512 channels.

# %%
depth = 2 if SMALL else 4
model = CordsNet(depth, in_channels=1, num_classes=10, image_size=size, seed=0).eval()
with torch.no_grad():  # random weights: give the areas some spontaneous drive
    for b in model.area_bias:
        b.normal_(0.05, 0.05)
print(f"CordsNet-R{depth}: τ = {float(model.tau[0]):g} ms, dt = {model.dt:g} ms, "
      f"{model.n_neurons:,} neurons, {sum(p.numel() for p in model.parameters()):,} parameters")  # fmt: skip
for i, shape in enumerate(model.state_shapes):
    print(f"  area {i}: {shape[0]} channels on {shape[1]} × {shape[2]}")
print("grid side per area at 224 × 224 (CordsNet-R8):", [h for h, w in area_sizes(224)])

fig, ax = plt.subplots(figsize=(5.5, 2.8))
neurons = [int(np.prod(shape)) for shape in model.state_shapes]
ax.bar(range(depth), neurons, color="tab:purple")
for i, shape in enumerate(model.state_shapes):
    ax.text(i, neurons[i], "×".join(map(str, shape)), ha="center", va="bottom", fontsize=8)
ax.set(xlabel="area", ylabel="neurons", xticks=range(depth),
       title=f"CordsNet-R{depth} on {size} × {size} images: channels × height × width")  # fmt: skip
plt.show()

# %% [markdown]
# ## Step 2: two images
#
# Two gratings of different orientation and spatial frequency, normalised to zero mean and
# unit variance (as images normalised for a CNN are).


# %%
def grating(angle: float, cycles: float) -> torch.Tensor:
    """A sinusoidal grating ``(1, size, size)`` with ``cycles`` periods across the image."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    phase = 2 * math.pi * cycles * (x * math.cos(angle) + y * math.sin(angle)) / size
    return torch.sin(phase)[None]


images = torch.stack([grating(0.0, 3.0), grating(math.pi / 3, 6.0)])  # (2, 1, H, W)
fig, axes = plt.subplots(1, 2, figsize=(4, 2))
for ax, img, name in zip(axes, images, ["image A", "image B"]):
    ax.imshow(img[0], cmap="gray")
    ax.set(title=name, xticks=[], yticks=[])
plt.show()

# %% [markdown]
# ## Step 3: spontaneous activity
#
# Before any image, the network settles to a **spontaneous steady state** (the paper runs 100
# steps, 200 ms, without input from zero). Every protocol starts there by default. Here we
# watch it form, starting from zero with a blank screen.

# %%
with torch.no_grad():
    settling = model.simulate(None, [Epoch.blank(300.0)], start="zero", batch_size=1,
                              record_areas="all")  # fmt: skip
t = settling.times.numpy()
fig, ax = plt.subplots(figsize=(5, 3))
for area, r in zip(settling.areas, settling.rates):
    ax.plot(t, r[0].mean(dim=(1, 2, 3)).numpy(), label=f"area {area}")
ax.axvline(200, color="0.5", ls="--", lw=0.8)
ax.text(205, ax.get_ylim()[1] * 0.95, "end of the 200 ms\nspontaneous phase", fontsize=7, va="top")
ax.set(xlabel="time (ms)", ylabel="mean rate", title="from zero to the spontaneous state")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# ## Step 4: a protocol and its recording (Fig. 3B)
#
# A `Protocol` is a list of epochs: images (any duration, optionally with noise), blanks,
# sequences. Here: 100 ms of blank, image A for 200 ms, 200 ms of blank, image B for 200 ms,
# 200 ms of blank. `record_areas="all"` keeps every area's rates at every step
# (`(batch, time, C, H, W)` per area) and the outputs (logits) at every step.

# %%
protocol = Protocol.sequence(2, image_ms=200.0, blank_ms=200.0, lead_ms=100.0)
print([(e.name, e.duration) for e in protocol.epochs], "→", sum(protocol.steps(model.dt)), "steps")
with torch.no_grad():
    traj = model.simulate(images[None], protocol, record_areas="all")  # (1 presentation, 2 images)
print("recorded:", {f"area {a}": tuple(r.shape) for a, r in zip(traj.areas, traj.rates)})
plot_activity_sequence(traj, protocol)
plt.show()

# %% [markdown]
# Each image drives the areas away from their spontaneous state; in the blank that follows the
# activity relaxes back over a few τ. The output (softmax over 10 classes) of this untrained
# network is meaningless, but it too moves with the images.
#
# What does the activity look like? Here is one channel of area 0 (a grid of neurons, like a
# retinotopic map) at a few moments:

# %%
moments = [90.0, 150.0, 300.0, 450.0, 600.0]  # ms
steps = [int(m / model.dt) - 1 for m in moments]
area0 = traj.rates[0][0, :, 3]  # (time, H, W): channel 3 of area 0
lim = float(area0[steps].abs().max())
fig, axes = plt.subplots(1, len(moments), figsize=(2.2 * len(moments), 2.4))
for ax, s, m in zip(axes, steps, moments):
    ax.imshow(area0[s], cmap="magma", vmin=0, vmax=lim)
    ax.set(title=f"{m:g} ms", xticks=[], yticks=[])
fig.suptitle("area 0, channel 3 (A shown 100–300 ms, B 500–700 ms)", fontsize=9)
plt.show()

# %% [markdown]
# Recordings convert to an `xarray.DataArray` with the dimensions neuroscientists use
# (Brain-Score's layout): time bins × presentations × recorded units.

# %%
recording = traj.to_xarray(areas=[depth - 1])
print(dict(recording.sizes))
print("coordinates:", list(recording.coords))
print("first units:", recording.neuroid_id.values[:3], "epochs:", np.unique(recording.epoch.values))

# %% [markdown]
# ## Step 5: noise robustness (Fig. 3C)
#
# The paper adds independent white noise to every pixel **at every time step** and compares
# CordsNet with its feedforward counterpart (the CNN it was built from), which sees one noisy
# image per step. Because CordsNet integrates its input over time (τ = 10 ms spans 5 steps),
# fast noise partly averages out. We measure the mean-squared deviation of the last area
# from its noiseless activity over the last 100 ms of a 200 ms presentation, relative to the
# activity's mean square.


# %%
def smooth_images(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.interpolate(torch.randn(n, 1, size // 4, size // 4, generator=g),
                                        size=(size, size), mode="bilinear")  # fmt: skip
    return (x - x.mean()) / x.std()


cnn = CordsNetCNN(depth, 1, 10, image_size=size, seed=0).eval()
test_images = smooth_images(2 if SMALL else 4, seed=1)
n_steps = Protocol.classification().steps(model.dt)[0]
window = list(range(n_steps // 2, n_steps))  # the last 100 ms
last = depth - 1
levels = [0.1, 0.3, 1.0, 3.0]
gen = torch.Generator().manual_seed(2)
deviation = {"CordsNet": [], "feedforward CNN": []}
with torch.no_grad():
    clean = model.simulate(test_images, record_areas=[last], record_steps=window).rates[0]
    clean_cnn = cnn.features(test_images)[-1]
    for sigma in levels:
        noisy = model.simulate(test_images, Protocol.classification(noise_std=sigma),
                               record_areas=[last], record_steps=window, generator=gen).rates[0]  # fmt: skip
        deviation["CordsNet"].append(float(((noisy - clean) ** 2).mean() / (clean**2).mean()))
        per_step = [
            ((cnn.features(test_images + sigma * torch.randn(test_images.shape, generator=gen))[-1]
              - clean_cnn) ** 2).mean()
            for _ in window
        ]  # fmt: skip
        deviation["feedforward CNN"].append(
            float(torch.stack(per_step).mean() / (clean_cnn**2).mean())
        )
for name, values in deviation.items():
    print(f"{name:16s}", " ".join(f"{v:.3g}" for v in values))
plot_noise_robustness(levels, deviation)
plt.show()

# %% [markdown]
# The deviation grows with the noise for both models (the printout gives the numbers). The
# continuous-time network averages fast noise over its time constant, while the CNN sees
# each noisy frame on its own; how large the difference is depends on the weights, and these
# are random: the paper's Fig. 3C uses the trained CordsNet-R8. To repeat the measurement with
# trained weights, replace the model by a trained one, e.g. from tutorial 6 or the published
# checkpoint:
#
# ```python
# from cordsneuro.models import cordsnet_r8
# model = cordsnet_r8(weights="imagenet")   # 224 × 224 RGB, downloaded once (needs network)
# logits = model.classify(images)           # spontaneous state, then 200 ms of each image
# ```
#
# ## Exercises
#
# Worked solutions: [solutions/05_cordsnet](../solutions/05_cordsnet/) (the file
# `docs/tutorials/solutions/05_cordsnet.py`).
#
# ### Exercise 1: information climbs the hierarchy
# Show image A from the spontaneous state and record every area of a CordsNet-R4. For each
# area, find the time after image onset at which its mean rate has made half of its total
# change. Plot this latency against the area. Why does it grow?
#
# ### Exercise 2: a brief flash
# Build a protocol with `Epoch` objects: 20 ms of image A, then 300 ms of blank. How long does
# each area take to return to within 10 % of its spontaneous mean rate? Compare with τ.
#
# ### Exercise 3: time averages noise away
# For one noise level (σ = 1), measure CordsNet's deviation over the last 20 ms of
# presentations lasting 40, 100, 200 and 400 ms. Does a longer look help? What would?
