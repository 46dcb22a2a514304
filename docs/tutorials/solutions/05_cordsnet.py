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
# # Solutions to tutorial 5: CordsNet
#
# Worked solutions to the exercises of [tutorial 5](../../05_cordsnet/). As in the tutorial,
# the networks have **random weights** (with small positive biases for spontaneous activity):
# the timing effects below come from the architecture and τ, not from training.

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro import CordsNet
from cordsneuro.models import Epoch, Protocol

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"
torch.set_num_threads(1)
size = 32


def random_cordsnet(depth: int) -> CordsNet:
    model = CordsNet(depth, in_channels=1, num_classes=10, image_size=size, seed=0).eval()
    with torch.no_grad():
        for b in model.area_bias:
            b.normal_(0.05, 0.05)
    return model


def grating(angle: float, cycles: float) -> torch.Tensor:
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return torch.sin(2 * math.pi * cycles * (x * math.cos(angle) + y * math.sin(angle)) / size)[
        None
    ]


image_a = grating(0.0, 3.0)[None]  # (1, 1, H, W)
model = random_cordsnet(4)

# %% [markdown]
# ## Exercise 1: information climbs the hierarchy
#
# Each area only sees the image through the areas below it, and each relaxes with τ = 10 ms,
# so the change reaches deeper areas later: the half-change latency grows with depth, by
# roughly a time constant per stage.

# %%
with torch.no_grad():
    traj = model.simulate(image_a, Protocol.classification(), record_areas="all")
t = traj.times.numpy()
latency = []
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.2))
for area, r in zip(traj.areas, traj.rates):
    m = r[0].mean(dim=(1, 2, 3)).numpy()
    start = float(model.spontaneous_state()[area].mean())
    change = m - start
    half = np.argmax(np.abs(change) >= 0.5 * np.abs(change[-1]))
    latency.append(t[half])
    ax0.plot(t, change / change[-1], label=f"area {area}")
ax0.axhline(0.5, color="0.5", ls="--", lw=0.8)
ax0.set(
    xlabel="time after image onset (ms)", ylabel="normalised change of mean rate", xlim=(0, 100)
)
ax0.legend(fontsize=7)
ax1.plot(traj.areas, latency, "o-")
ax1.set(xlabel="area", ylabel="half-change latency (ms)", xticks=traj.areas)
fig.tight_layout()
plt.show()
print("latencies (ms):", [float(x) for x in latency])

# %% [markdown]
# ## Exercise 2: a brief flash
#
# After a 20 ms flash the areas relax back to their spontaneous state. A single leaky unit
# would lose 90 % of a perturbation in $\tau \ln 10 \approx 23$ ms; the recurrent and
# feedforward connections keep the activity going longer, the more so in deeper areas,
# which receive the flash late.

# %%
flash = [Epoch.image(20.0, 0, name="flash"), Epoch.blank(300.0)]
with torch.no_grad():
    traj = model.simulate(image_a, flash, record_areas="all")
t = traj.times.numpy()
spontaneous = [float(s.mean()) for s in model.spontaneous_state()]
fig, ax = plt.subplots(figsize=(5, 3.2))
for area, r in zip(traj.areas, traj.rates):
    m = r[0].mean(dim=(1, 2, 3)).numpy()
    excursion = np.abs(m - spontaneous[area])
    peak = excursion.argmax()
    back = peak + np.argmax(excursion[peak:] <= 0.1 * excursion[peak])
    print(f"area {area}: peak at {t[peak]:.0f} ms, back within 10 % at {t[back]:.0f} ms")
    ax.plot(t, m - spontaneous[area], label=f"area {area}")
ax.axvspan(0, 20, color="0.9", zorder=0)
ax.set(xlabel="time (ms)", ylabel="mean rate − spontaneous", title="a 20 ms flash")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# ## Exercise 3: time averages noise away
#
# Not at a given moment: after a few τ the network has settled, the noise it receives is as
# fresh as ever, and the deviation of its instantaneous activity stays at the level set by
# averaging over its time constants, whatever the presentation's length. A longer look helps
# only a readout that averages over time, as the paper's eq. 4 loss does over steps 170–200.

# %%
model2 = random_cordsnet(2)
last, sigma = 1, 1.0
durations = [40.0, 100.0, 200.0] if SMALL else [40.0, 100.0, 200.0, 400.0]
gen = torch.Generator().manual_seed(0)
images = torch.stack([grating(0.0, 3.0), grating(1.0, 5.0)])
result = []
with torch.no_grad():
    for duration in durations:
        n = int(duration / model2.dt)
        window = list(range(n - 10, n))  # the last 20 ms
        clean = model2.simulate(images, Protocol.classification(duration), record_areas=[last],
                                record_steps=window).rates[0]  # fmt: skip
        noisy = model2.simulate(images, Protocol.classification(duration, noise_std=sigma),
                                record_areas=[last], record_steps=window, generator=gen).rates[0]  # fmt: skip
        result.append(float(((noisy - clean) ** 2).mean() / (clean**2).mean()))
        print(f"{duration:5.0f} ms: relative deviation {result[-1]:.4f}")
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.plot(durations, result, "o-")
ax.set(xlabel="presentation (ms)", ylabel="relative deviation, last 20 ms", title=f"σ = {sigma}")
plt.show()
