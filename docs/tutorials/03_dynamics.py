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
# # Tutorial 3: dynamics
#
# **Learning goals**
#
# * recognise the three regimes of a random network (stable, oscillatory, chaotic, Fig. 1B) and
#   measure them with the largest Lyapunov exponent;
# * find fixed points as minima of $q = \frac12\lVert dr/dt\rVert^2$, check them against the
#   exact answer of a linear network, and see the attractor a trained network builds to hold a
#   memory (Fig. 1D, S3);
# * reduce population activity with PCA and summarise its dimension by the participation ratio
#   (eq. 3).
#
# **Time:** about 35 minutes (about a minute of computing on a laptop CPU).
# **Prerequisites:** tutorials [1](../01_rate_network/) and [2](../02_cognitive_tasks/);
# eigenvalues and eigenvectors.
#
# Source: Soo et al. (NeurIPS 2024), Section 2.1, Appendix B.2 and B.4, Fig. 1B, 1D, S1, S3.

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro import FullRNN, analyses, tasks, train
from cordsneuro.models import table_s1
from cordsneuro.plotting import plot_attractor, plot_gain_sweep, plot_regime

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"  # shrink sizes for CI
torch.set_num_threads(1)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated")  # inside PyTorch

# %% [markdown]
# ## Step 1: three regimes (Fig. 1B)
#
# Left alone (no input), a random network with weights $\mathcal N(0, g^2/N)$ behaves
# differently depending on its gain g (Sompolinsky, Crisanti & Sommers 1988): for small g
# activity decays to a fixed point; around $g \approx 1.5$ it can settle on a limit cycle;
# for large g it is chaotic, never repeating. We simulate the parameter-matched full and
# convolutional networks of Table S1 at three gains.

# %%
n = 216 if SMALL else 512  # Table S1: ConvRNN 6×6×6 (kernel 5) or 8×8×8 (kernel 6)
gains = [0.5, 1.5, 3.0]
duration = 1000.0 if SMALL else 2000.0  # ms recorded after a transient of the same length
factories = {
    f"FullRNN (N = {n})": lambda g: table_s1(n, "full", gain=g, seed=0),
    f"ConvRNN (N = {n})": lambda g: table_s1(n, "conv", gain=g, seed=0),
}
sweeps = {
    name: analyses.gain_sweep(factory, gains, duration=duration, transient=duration, progress=False)
    for name, factory in factories.items()
}
for name, reports in sweeps.items():
    print(name, [(g, r.label, round(r.lyapunov_tau, 3)) for g, r in zip(gains, reports)])
plot_gain_sweep(sweeps, gains)
plt.show()

# %% [markdown]
# ## Step 2: the Lyapunov exponent
#
# Chaos means that two nearby states drift apart exponentially: $\lVert\delta r(t)\rVert \sim
# e^{\lambda t}$. The library follows a tangent vector along the trajectory (a Jacobian-vector
# product per step, renormalised each time) and reports $\lambda\tau$: negative for a stable
# fixed point, about 0 on a limit cycle, positive for chaos. `classify_regime` combines it
# with how much the late activity still moves, and also returns the activity's dimension and
# autocorrelation (Fig. S1B):

# %%
chaotic = sweeps[f"FullRNN (N = {n})"][-1]
print(f"label {chaotic.label}, λτ = {chaotic.lyapunov_tau:+.3f}, "
      f"participation ratio {chaotic.participation_ratio:.1f}")  # fmt: skip
plot_regime(chaotic, title="FullRNN, g = 3: chaotic")
plt.show()

# %% [markdown]
# ## Step 3: fixed points, checked against the exact answer
#
# A fixed point $r^*$ satisfies $dr/dt = 0$. Following Sussillo & Barak (2013) we minimise
# $q(r) = \frac12\lVert dr/dt\rVert^2$ from many starting states; minima with $q = 0$ are fixed
# points, small non-zero minima are *slow points*. For a **linear** network
# ($\sigma(x) = x$) with constant input $h$ the fixed point is known exactly (paper eq. 7):
#
# $$ r^* = (I - W_{rec})^{-1}\,(b + W_{inp} h). $$
#
# The eigenvalues of the Jacobian at $r^*$, $(W_{rec} - I)/\tau$, tell whether it is stable
# (all real parts negative).

# %%
linear = FullRNN(40, 1, 1, gain=0.8, activation="identity", seed=1)
with torch.no_grad():
    linear.bias.normal_(0, 0.5)
h = torch.tensor([0.7])
w = linear.recurrent_matrix().detach().double()
exact = torch.linalg.solve(
    torch.eye(40, dtype=torch.float64) - w,
    linear.bias.detach().double() + linear.w_inp.detach().double() @ h.double(),
)
found = analyses.find_fixed_points(linear, torch.randn(16, 40), h)
print(f"{len(found)} fixed point(s); q = {float(found.q[0]):.1e} /ms²; "
      f"distance to eq. 7: {float((found.states[0] - exact).norm()):.1e}; stable: {bool(found.stable[0])}")  # fmt: skip

jac = np.linalg.eigvals((w.numpy() - np.eye(40)) / float(linear.tau))
fig, ax = plt.subplots(figsize=(4.5, 3.5))
ax.plot(jac.real, jac.imag, ".", color="0.6", label="all eigenvalues of (W − I)/τ")
ax.plot(found.eigenvalues[0].real, found.eigenvalues[0].imag, "o", mfc="none", color="tab:red",
        label="found at r* (10 rightmost)")  # fmt: skip
ax.axvline(0, color="k", lw=0.8)
ax.set(xlabel="Re λ (1/ms)", ylabel="Im λ (1/ms)", title="Jacobian at the fixed point")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# ## Step 4: an attractor that holds a memory (Fig. 1D, S3)
#
# In the memory-pro task a network sees an angle θ (as $\cos\theta, \sin\theta$), must hold it
# through a delay and report it when the fixation input goes off. To hold *any* angle the
# network needs a continuum of slow states: a **ring attractor**. We train a small network on
# shortened epochs, run trials with 64 angles, and search for slow points starting from the
# end-of-delay states, with the delay's input (fixation only). A few L-BFGS iterations keep
# slow points slow, so they sample the ring instead of collapsing onto its few true fixed
# points.

# %%
short = {"fixation": ("uniform", (100, 200)), "stimulus": ("uniform", (100, 300)),
         "delay": ("uniform", (200, 800)), "response": ("uniform", (100, 200))}  # fmt: skip
ring_task = tasks.make("MemoryProRing", timing=short)
net = FullRNN(64, 3, 2, gain=0.9, seed=0)
result = train(net, ring_task, steps=400, lr=3e-3, batch_size=32, seed=0, eval_every=100,
               eval_trials=128, progress=False)  # fmt: skip
print(f"after {result.steps} steps: mean angular error {result.metrics['mae_deg']:.1f}°")

theta = np.linspace(0, 2 * np.pi, 64, endpoint=False)
batch = tasks.make_batch(ring_task, 64, seed=1, theta=theta)
with torch.no_grad():
    rates = net(batch.inputs).rates
start, end = batch.trial_info["delay_start"], batch.trial_info["delay_end"]
delay_end = torch.stack([rates[i, int(end[i]) - 1] for i in range(64)])
fixation_only = torch.tensor([1.0, 0.0, 0.0])
slow = analyses.find_fixed_points(net, delay_end, fixation_only, q_tol=1e-6, n_iter=0,
                                  lbfgs_iter=20, dedup_tol=1e-4)  # fmt: skip
shape = analyses.describe_attractor(slow)
print(f"{len(slow)} slow points, {int(slow.stable.sum())} stable: a {shape.kind} "
      f"(dimension {shape.intrinsic_dimension}, closed: {shape.closed})")  # fmt: skip

length = int(min(end - start))
delay = torch.stack([rates[i, int(start[i]) : int(start[i]) + length] for i in range(64)])
pca = analyses.PCA(3).fit(delay)
plot_attractor(pca.transform(delay), theta, pca.transform(slow.states), slow.stable.numpy(),
               title="delay-epoch trajectories and slow points")  # fmt: skip
plt.show()

# %% [markdown]
# Each trajectory (coloured by its angle) flows onto the ring of slow points and stays near the
# place that encodes its angle: the memory *is* a position on the attractor.
#
# ## Step 5: PCA and the participation ratio
#
# Population activity $X$ (time points × neurons) often lives near a low-dimensional subspace.
# PCA finds it: the eigenvalues $\lambda_i$ of the covariance of $X$ are the variances along
# the principal components. The **participation ratio** (paper eq. 3) summarises how many
# components matter:
#
# $$ \mathrm{PR} = \frac{\left(\sum_i \lambda_i\right)^2}{\sum_i \lambda_i^2}, $$
#
# which is 1 when one component carries all the variance and N when all N carry the same.
# Let us compute it by hand and with the library, for the three regimes of step 1.

# %%
fig, ax = plt.subplots(figsize=(5, 3.4))
for g, report in zip(gains, sweeps[f"FullRNN (N = {n})"]):
    x = report.activity.reshape(-1, n).double().numpy()
    eig = np.linalg.eigvalsh(np.cov(x.T))[::-1]
    by_hand = eig.sum() ** 2 / (eig**2).sum() if eig.sum() > 1e-20 else 0.0
    library = analyses.participation_ratio(torch.as_tensor(x))
    print(f"g = {g}: {report.label:12s} PR by hand {by_hand:6.2f}, library {library:6.2f}")
    ax.plot(np.arange(1, 21), np.cumsum(eig[:20]) / max(eig.sum(), 1e-30), "o-", ms=3,
            label=f"g = {g} ({report.label}), PR {library:.1f}")  # fmt: skip
ax.set(xlabel="principal components", ylabel="cumulative variance explained", ylim=(0, 1.05))
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# In the stable network the recorded activity is the last of a decay onto the fixed point;
# the oscillating and chaotic networks keep moving, and their activity spreads over more
# dimensions as the gain grows (Section 4 of the paper compares this dimension across
# architectures).
#
# ## Exercises
#
# Worked solutions: [solutions/03_dynamics](../solutions/03_dynamics/) (the file
# `docs/tutorials/solutions/03_dynamics.py`).
#
# ### Exercise 1: where does chaos start?
# Compute $\lambda\tau$ and the participation ratio of a `FullRNN` for gains 0.5, 1, 1.5, 2,
# 2.5 and 3 with `analyses.classify_regime` and plot both against g. Near which gain does
# $\lambda\tau$ cross zero?
#
# ### Exercise 2: a line instead of a ring
# Train the same network on `"MemoryProLine"` (a value $x \in [-1, 1]$ instead of an angle; 2
# inputs, 1 output) and describe its slow points. Do you get a line, and is it open?
#
# ### Exercise 3: a fixed point that moves with the input
# For the linear network of step 3, find the fixed point for inputs h from −1 to 1 and plot
# its projection on the input direction against h. Explain the straight line with eq. 7.
