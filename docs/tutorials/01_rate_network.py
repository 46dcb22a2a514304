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
# # Tutorial 1: a rate network from scratch
#
# **Learning goals**
#
# * write down the rate equation every model of the library obeys (paper eq. 2) and integrate
#   it by hand with the Euler method (eq. 9);
# * see what the time constant τ and the time step dt do, and why $dt/\tau \le 1$;
# * add private noise whose size does not depend on dt;
# * build the four single-area architectures (full, low-rank, sparse, convolutional) and the
#   parameter-matched networks of Table S1.
#
# **Time:** about 20 minutes (the code runs in a few seconds on a laptop CPU).
# **Prerequisites:** Python, NumPy, a first course in differential equations.
#
# Source: Soo, Battista, Radmard & Wang (NeurIPS 2024), Section 2, Appendix B.1–B.3.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

import cordsneuro
from cordsneuro import ConvRNN, FullRNN, LowRankRNN, SparseRNN

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"  # shrink sizes for CI
torch.set_num_threads(1)  # small networks run fastest on one thread

# %% [markdown]
# ## Step 1: one neuron
#
# A rate neuron relaxes towards its input with time constant τ:
#
# $$ \tau \frac{dr}{dt} = -r + \sigma(\text{drive}). $$
#
# The Euler method replaces $dr/dt$ by $(r_{t+1} - r_t)/dt$, which gives (with
# $\alpha = dt/\tau$, paper eq. 9)
#
# $$ r_{t+1} = (1-\alpha)\, r_t + \alpha\, \sigma(\text{drive}_t). $$
#
# For a constant drive $x$ and $r(0) = 0$ the exact solution is
# $r(t) = \sigma(x)\,(1 - e^{-t/\tau})$. Let us compare.

# %%
tau = 100.0  # ms
x = 1.0  # constant drive
t_end = 500.0  # ms


def euler_one_neuron(dt: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = dt / tau
    steps = int(t_end / dt)
    r = np.zeros(steps + 1)
    for t in range(steps):
        r[t + 1] = (1 - alpha) * r[t] + alpha * np.tanh(x)
    return np.arange(steps + 1) * dt, r


t_fine = np.linspace(0, t_end, 500)
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(t_fine, np.tanh(x) * (1 - np.exp(-t_fine / tau)), "k", lw=2, label="exact")
for dt in (5.0, 20.0, 50.0):
    times, r = euler_one_neuron(dt)
    ax.plot(times, r, "o-", ms=3, label=f"Euler, dt = {dt:g} ms")
ax.set(xlabel="time (ms)", ylabel="rate r", title="one neuron, τ = 100 ms")
ax.legend()
plt.show()

# %% [markdown]
# The Euler solution approaches the exact one as dt shrinks. With $\alpha > 1$ the update would
# overshoot the target, so the library refuses $dt > \tau$:

# %%
try:
    FullRNN(10, 1, 1, tau=10.0, dt=20.0)
except ValueError as error:
    print("ValueError:", error)

# %% [markdown]
# ## Step 2: a network, by hand
#
# A network of N neurons obeys (eq. 2)
#
# $$ T \frac{d\mathbf r}{dt} = -\mathbf r + \sigma\big(W_{rec}\mathbf r + \mathbf b
#    + W_{inp}\mathbf h(t)\big), $$
#
# with $T$ the diagonal matrix of time constants. We draw $W_{rec}$ with entries
# $\mathcal N(0, g^2/N)$, give the network a 200 ms input pulse and integrate by hand.

# %%
n, g, dt = (50 if SMALL else 200), 1.5, 20.0
rng = np.random.default_rng(0)
w_rec = rng.normal(0, g / np.sqrt(n), (n, n))
w_inp = rng.normal(0, 1, (n, 1))
bias = np.zeros(n)
steps = 100
h = np.zeros((steps, 1))
h[5:15] = 1.0  # a pulse from 100 to 300 ms


def simulate_by_hand(w_rec, w_inp, bias, h, dt=20.0, tau=100.0):
    """Euler integration of eq. 2 with tanh; returns rates (time, N)."""
    alpha = dt / tau
    r = np.zeros(w_rec.shape[0])
    rates = []
    for h_t in h:
        r = (1 - alpha) * r + alpha * np.tanh(w_rec @ r + bias + w_inp @ h_t)
        rates.append(r)
    return np.array(rates)


rates = simulate_by_hand(w_rec, w_inp, bias, h, dt)
times = dt * np.arange(1, steps + 1)
fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(6, 4), sharex=True, height_ratios=[1, 3])
ax0.plot(times, h[:, 0], "k")
ax0.set_ylabel("input h")
ax1.plot(times, rates[:, :8])
ax1.set(xlabel="time (ms)", ylabel="rate", title=f"8 of {n} neurons, g = {g}")
plt.show()

# %% [markdown]
# ## Step 3: the same network in cordsneuro
#
# `FullRNN` is exactly this network. Its weights are ordinary tensors, so we can take them out
# and run our hand-written loop on them: the two simulations agree to float precision.
# `model(inputs)` takes inputs shaped `(batch, time, features)` and returns a `Trajectory`
# with `rates` `(batch, time, N)`, `outputs` and `times` (ms).

# %%
model = FullRNN(n, input_size=1, output_size=2, gain=g, seed=0, tau=100.0, dt=dt)
print(
    f"{model.n_neurons} neurons, τ = {float(model.tau):g} ms, dt = {model.dt:g} ms, {model.activation}"
)
inputs = torch.tensor(h, dtype=torch.float32)[None]  # (1 trial, time, 1)
with torch.no_grad():
    traj = model(inputs)
by_hand = simulate_by_hand(
    model.recurrent_matrix().detach().double().numpy(),
    model.w_inp.detach().double().numpy(),
    model.bias.detach().double().numpy(),
    h,
    dt,
)
print("rates:", tuple(traj.rates.shape), " largest difference from the hand loop:",
      float(np.abs(traj.rates[0].numpy() - by_hand).max()))  # fmt: skip

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(traj.times, traj.rates[0, :, :5], lw=3, alpha=0.4)
ax.set_prop_cycle(None)
ax.plot(times, by_hand[:, :5], "--", lw=1)
ax.set(xlabel="time (ms)", ylabel="rate", title="cordsneuro (thick) and by hand (dashed)")
plt.show()

# %% [markdown]
# ## Step 4: τ and dt
#
# τ sets how fast neurons follow their drive; dt is only the numerical step. Halving dt should
# not change the dynamics, only their resolution. Here the same weights (same seed) are run at
# three time steps, and with a time constant twice as long.

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
for tau_ms, dt_ms, style in [(100, 20, "-"), (100, 5, "--"), (100, 1, ":"), (200, 5, "-")]:
    m = FullRNN(n, 1, 2, gain=g, seed=0, tau=tau_ms, dt=dt_ms)
    n_steps = int(2000 / dt_ms)
    pulse = torch.zeros(1, n_steps, 1)
    pulse[:, int(100 / dt_ms) : int(300 / dt_ms)] = 1.0
    with torch.no_grad():
        tr = m(pulse)
    ax.plot(tr.times, tr.rates[0, :, 0], style, label=f"τ = {tau_ms} ms, dt = {dt_ms} ms")
ax.set(xlabel="time (ms)", ylabel="rate of neuron 0")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Step 5: noise
#
# Real neurons are noisy. With `noise_std = σ` the library adds $\sigma\sqrt{2/\alpha}\,\xi_t$,
# $\xi_t \sim \mathcal N(0, 1)$, to the drive at every step: the Euler discretisation of white
# noise of intensity σ². The scaling by $\sqrt{2/\alpha}$ makes the size of the fluctuations
# independent of dt. For a single leaky unit with no other input the stationary variance is
# $2\sigma^2/(2-\alpha) \approx \sigma^2$ for every dt.

# %%
sigma = 0.1
fig, ax = plt.subplots(figsize=(6, 3))
for dt_ms in (20.0, 5.0):
    leaky = FullRNN(1, 1, 1, gain=0.0, activation="identity", noise_std=sigma, dt=dt_ms)
    with torch.no_grad():
        tr = leaky(torch.zeros(1, int(3000 / dt_ms), 1), generator=torch.Generator().manual_seed(0))
    ax.plot(tr.times, tr.rates[0, :, 0], lw=0.8, label=f"dt = {dt_ms:g} ms")
ax.axhspan(-sigma, sigma, color="0.9", zorder=0, label="± σ")
ax.set(xlabel="time (ms)", ylabel="rate", title=f"a noisy leaky unit, σ = {sigma}")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Step 6: four architectures
#
# The library's single-area networks differ only in how $W_{rec}$ is built (Appendix B.3):
#
# | class | $W_{rec}$ | trainable recurrent parameters |
# |---|---|---|
# | `FullRNN` | dense, $\mathcal N(0, g^2/N)$ | $N^2$ |
# | `LowRankRNN` | $P\,Q$ with $P$ of shape $N\times R$ | $2RN$ |
# | `SparseRNN` | $W \odot M$, a fixed random mask | number of connections |
# | `ConvRNN` | a convolution on a $C \times H \times W$ grid | $C^2k^2$ |
#
# Every model gives its recurrent weights as a dense matrix, so we can look at them and at their
# eigenvalues. With the same gain all four have a spectral radius near g.

# %%
side = 4 if SMALL else 5
n_cube = side**3
models = {
    "FullRNN": FullRNN(n_cube, 1, 2, gain=1.0, seed=0),
    "LowRankRNN (rank 2)": LowRankRNN(n_cube, 1, 2, rank=2, gain=1.0, seed=0),
    "SparseRNN (p = 0.1)": SparseRNN(n_cube, 1, 2, p=0.1, gain=1.0, seed=0),
    "ConvRNN (k = 3)": ConvRNN(side, side, side, 1, 2, kernel_size=3, gain=1.0, seed=0),
}
fig, axes = plt.subplots(2, 4, figsize=(12, 6))
for (name, m), ax_w, ax_e in zip(models.items(), axes[0], axes[1]):
    w = m.recurrent_matrix().detach().numpy()
    lim = np.abs(w).max()
    ax_w.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax_w.set_title(name, fontsize=9)
    ax_w.set_xticks([])
    ax_w.set_yticks([])
    ev = np.linalg.eigvals(w)
    ax_e.plot(ev.real, ev.imag, ".", ms=3)
    ax_e.add_patch(plt.Circle((0, 0), 1.0, fill=False, ls="--", color="0.5"))
    ax_e.set(aspect="equal", xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), xlabel="Re λ")
axes[1, 0].set_ylabel("Im λ")
fig.suptitle(f"recurrent weights (top) and their eigenvalues (bottom), N = {n_cube}, g = 1")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Step 7: Table S1, parameter-matched networks
#
# To compare architectures fairly the paper matches the number of recurrent parameters
# (Table S1). `table_s1(N, architecture)` builds those networks and
# `recurrent_parameter_count` counts their recurrent parameters.

# %%
from cordsneuro.models import recurrent_parameter_count, table_s1  # noqa: E402

architectures = ["full", "lowrank", "sparse", "conv"]
sizes = [125] if SMALL else [125, 216, 512]
counts = {
    a: [recurrent_parameter_count(table_s1(n, a, seed=0)) for n in sizes] for a in architectures
}
print("N      " + "".join(f"{a:>10}" for a in architectures))
for i, n_i in enumerate(sizes):
    print(f"{n_i:<7}" + "".join(f"{counts[a][i]:>10}" for a in architectures))

fig, ax = plt.subplots(figsize=(6, 3))
width = 0.2
for j, a in enumerate(architectures):
    ax.bar(np.arange(len(sizes)) + (j - 1.5) * width, counts[a], width, label=a)
ax.set(xticks=range(len(sizes)), xticklabels=[f"N = {s}" for s in sizes], yscale="log",
       ylabel="recurrent parameters", title="Table S1")  # fmt: skip
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The low-rank, sparse and convolutional networks have a few hundred to a few thousand
# recurrent parameters where the full network has $N^2$: they are matched to each other, not to
# the full network. Models save as a directory (`config.json` + `weights.safetensors`) and
# `cordsneuro.load` rebuilds any of them:

# %%
import tempfile  # noqa: E402

with tempfile.TemporaryDirectory() as folder:
    models["ConvRNN (k = 3)"].save(folder)
    again = cordsneuro.load(folder)
print(type(again).__name__, again.state_shape, "neurons:", again.n_neurons)

# %% [markdown]
# ## Exercises
#
# Worked solutions: [solutions/01_rate_network](../solutions/01_rate_network/) (the file
# `docs/tutorials/solutions/01_rate_network.py`).
#
# ### Exercise 1: the Euler error
# For the single neuron of step 1, compute the largest difference between the Euler solution
# and the exact one for dt = 1, 2, 5, 10, 20 and 50 ms, and plot it against dt on log–log
# axes. What order is the Euler method?
#
# ### Exercise 2: noise that does not depend on dt
# Simulate many copies of the noisy leaky unit of step 5 (a batch of trials) for 10 s at
# dt = 1, 5, 20 and 50 ms, and compare its stationary variance with $2\sigma^2/(2-\alpha)$. What would happen
# if the noise were added without the factor $\sqrt{2/\alpha}$?
#
# ### Exercise 3: gain and spectral radius
# For `FullRNN` and `ConvRNN` networks of Table S1's N = 125 (`table_s1`), plot the spectral
# radius of `recurrent_matrix()` against the gain g from 0.5 to 3 (five seeds each). Is the
# radius close to g for both?
