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
# # Solutions to tutorial 1: a rate network from scratch
#
# Worked solutions to the exercises of [tutorial 1](../../01_rate_network/).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro import FullRNN
from cordsneuro.models import table_s1

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"
torch.set_num_threads(1)

# %% [markdown]
# ## Exercise 1: the Euler error
#
# The exact solution is $r(t) = \tanh(x)(1 - e^{-t/\tau})$; Euler gives
# $r_k = \tanh(x)(1 - (1-\alpha)^k)$. The largest difference shrinks in proportion to dt: the
# Euler method is first order (slope 1 on log–log axes).

# %%
tau, x, t_end = 100.0, 1.0, 500.0
dts = np.array([1.0, 2.0, 5.0, 10.0, 20.0, 50.0])
errors = []
for dt in dts:
    k = np.arange(int(t_end / dt) + 1)
    euler = np.tanh(x) * (1 - (1 - dt / tau) ** k)
    exact = np.tanh(x) * (1 - np.exp(-k * dt / tau))
    errors.append(np.abs(euler - exact).max())
errors = np.array(errors)
slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
print(f"log-log slope: {slope:.2f} (1 = first order)")

fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.loglog(dts, errors, "o-", label="Euler")
ax.loglog(dts, errors[0] * dts / dts[0], "k--", lw=0.8, label="∝ dt")
ax.set(xlabel="dt (ms)", ylabel="largest error", title=f"slope {slope:.2f}")
ax.legend()
plt.show()

# %% [markdown]
# ## Exercise 2: noise that does not depend on dt
#
# With the $\sqrt{2/\alpha}$ factor the measured variance follows $2\sigma^2/(2-\alpha)$ and
# stays close to σ² at every dt. Without it (noise $\sigma\xi_t$ added to the drive at each
# step) the variance would be $\alpha\sigma^2/(2-\alpha)$: proportional to dt, so it would
# vanish as the step shrinks, and the "same" network would behave differently at each dt.

# %%
sigma = 0.1
duration, trials = (3000.0, 100) if SMALL else (10_000.0, 200)  # ms, independent units
rows = []
for dt in (1.0, 5.0, 20.0, 50.0):
    alpha = dt / tau
    unit = FullRNN(1, 1, 1, gain=0.0, activation="identity", noise_std=sigma, dt=dt, tau=tau)
    with torch.no_grad():
        tr = unit(
            torch.zeros(trials, int(duration / dt), 1), generator=torch.Generator().manual_seed(1)
        )
    r = tr.rates[:, int(1000 / dt) :, 0].double().numpy()  # drop the first second (10 τ)
    rows.append((dt, r.var(), 2 * sigma**2 / (2 - alpha), alpha * sigma**2 / (2 - alpha)))
    print(f"dt = {dt:4g} ms: variance {r.var():.5f}, 2σ²/(2-α) = {rows[-1][2]:.5f}")

rows = np.array(rows)
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.plot(rows[:, 0], rows[:, 1], "o", label="measured")
ax.plot(rows[:, 0], rows[:, 2], "k-", label="2σ²/(2−α)")
ax.plot(rows[:, 0], rows[:, 3], "r--", label="without √(2/α)")
ax.set(xlabel="dt (ms)", ylabel="stationary variance", xscale="log")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Exercise 3: gain and spectral radius
#
# Both architectures scale their initial weights so that the spectral radius is about g
# (full: entries $\mathcal N(0, g^2/N)$, the circular law; convolution: fan-in scaling
# $\mathcal N(0, g^2/(Ck^2))$). At N = 125 the radius fluctuates from seed to seed, and the
# convolution's radius sits a little below g.

# %%
gains = np.linspace(0.5, 3.0, 6)
seeds = range(3 if SMALL else 5)
fig, ax = plt.subplots(figsize=(4.5, 3.2))
for arch in ("full", "conv"):
    radius = [
        [
            np.abs(
                np.linalg.eigvals(
                    table_s1(125, arch, gain=g, seed=s).recurrent_matrix().detach().numpy()
                )
            ).max()
            for s in seeds
        ]
        for g in gains
    ]
    radius = np.array(radius)
    ax.errorbar(gains, radius.mean(1), radius.std(1), marker="o", capsize=3, label=arch)
ax.plot(gains, gains, "k--", lw=0.8, label="radius = g")
ax.set(xlabel="gain g", ylabel="spectral radius of W_rec", title="Table S1, N = 125")
ax.legend()
plt.show()
