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
# # Solutions to tutorial 3: dynamics
#
# Worked solutions to the exercises of [tutorial 3](../../03_dynamics/).

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch

from cordsneuro import FullRNN, analyses, tasks, train
from cordsneuro.plotting import plot_attractor

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"
torch.set_num_threads(1)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated")  # inside PyTorch

# %% [markdown]
# ## Exercise 1: where does chaos start?
#
# For an infinitely large random network theory puts the transition to chaos at $g = 1$
# (Sompolinsky et al. 1988). In a finite tanh network the transition is blurred: limit cycles
# and stable states can still appear above 1, and $\lambda\tau$ crosses zero for good
# somewhere between g ≈ 1 and 2, depending on N and the seed. The participation ratio grows
# with g once the network is chaotic.

# %%
n = 128 if SMALL else 400
gains = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
duration = 1000.0 if SMALL else 3000.0
reports = analyses.gain_sweep(lambda g: FullRNN(n, 1, 1, gain=g, seed=0), gains,
                              duration=duration, transient=duration, progress=False)  # fmt: skip
lyap = [r.lyapunov_tau for r in reports]
pr = [r.participation_ratio for r in reports]
for g, r in zip(gains, reports):
    print(f"g = {g}: {r.label:12s} λτ = {r.lyapunov_tau:+.3f}  PR = {r.participation_ratio:.1f}")

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.2))
ax0.plot(gains, lyap, "o-")
ax0.axhline(0, color="k", lw=0.8)
ax0.set(xlabel="gain g", ylabel="λτ", title="largest Lyapunov exponent")
ax1.plot(gains, pr, "o-", color="tab:purple")
ax1.set(xlabel="gain g", ylabel="participation ratio", title="dimension of the activity")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Exercise 2: a line instead of a ring
#
# With a value in [−1, 1] to remember, the slow points line up along an open curve: a line
# attractor (Fig. S3, middle).

# %%
short = {"fixation": ("uniform", (100, 200)), "stimulus": ("uniform", (100, 300)),
         "delay": ("uniform", (200, 800)), "response": ("uniform", (100, 200))}  # fmt: skip
line_task = tasks.make("MemoryProLine", timing=short)
net = FullRNN(64, 2, 1, gain=0.9, seed=0)
result = train(net, line_task, steps=400, lr=3e-3, batch_size=32, seed=0, eval_every=100,
               eval_trials=128, progress=False)  # fmt: skip
print(f"after {result.steps} steps: {result.metrics}")

values = np.linspace(-1, 1, 64)
batch = tasks.make_batch(line_task, 64, seed=1, value=values)
with torch.no_grad():
    rates = net(batch.inputs).rates
start, end = batch.trial_info["delay_start"], batch.trial_info["delay_end"]
delay_end = torch.stack([rates[i, int(end[i]) - 1] for i in range(64)])
slow = analyses.find_fixed_points(net, delay_end, torch.tensor([1.0, 0.0]), q_tol=1e-6,
                                  n_iter=0, lbfgs_iter=20, dedup_tol=1e-4)  # fmt: skip
shape = analyses.describe_attractor(slow)
print(f"{len(slow)} slow points: a {shape.kind} (dimension {shape.intrinsic_dimension}, "
      f"closed: {shape.closed})")  # fmt: skip
length = int(min(end - start))
delay = torch.stack([rates[i, int(start[i]) : int(start[i]) + length] for i in range(64)])
pca = analyses.PCA(3).fit(delay)
plot_attractor(pca.transform(delay), values, pca.transform(slow.states), slow.stable.numpy(),
               title=f"MemoryProLine: {shape.kind}", cmap="viridis")  # fmt: skip
plt.show()

# %% [markdown]
# ## Exercise 3: a fixed point that moves with the input
#
# By eq. 7, $r^*(h) = (I - W)^{-1} b + (I - W)^{-1} W_{inp}\,h$: linear in h. Its projection on
# any fixed direction is therefore a straight line in h, with slope
# $u^\top (I - W)^{-1} W_{inp}$.

# %%
linear = FullRNN(40, 1, 1, gain=0.8, activation="identity", seed=1)
with torch.no_grad():
    linear.bias.normal_(0, 0.5)
direction = linear.w_inp.detach().double()[:, 0]
direction = direction / direction.norm()
hs = np.linspace(-1, 1, 9)
projection = []
for h in hs:
    fp = analyses.find_fixed_points(linear, torch.randn(4, 40), torch.tensor([h]),
                                    compute_jacobians=False)  # fmt: skip
    projection.append(float(fp.states[0] @ direction))
w = linear.recurrent_matrix().detach().double()
slope = direction @ torch.linalg.solve(torch.eye(40, dtype=torch.float64) - w,
                                       linear.w_inp.detach().double()[:, 0])  # fmt: skip
fit = np.polyfit(hs, projection, 1)[0]
print(f"slope found {fit:.6f}, from eq. 7 {float(slope):.6f}")

fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.plot(hs, projection, "o", label="fixed points found")
ax.plot(hs, projection[len(hs) // 2] + float(slope) * hs, "k--", label="eq. 7")
ax.set(xlabel="input h", ylabel="r* on the input direction")
ax.legend()
plt.show()
