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
# # Tutorial 8: neural predictivity over time (Fig. 6)
#
# CordsNet's claim to model the visual system over time rests on Fig. 6C: its activity predicts
# neural recordings bin by bin, and better than the same recordings shuffled in time. This
# tutorial runs that analysis (Appendix E) end to end on recordings with a known answer.
#
# **Learning goals**
#
# * record a CordsNet's areas and bin them to neural time bins, with a lag;
# * hold neural data in Brain-Score's NeuroidAssembly layout and save it as NetCDF;
# * score model areas against brain regions with the temporal-shuffle control;
# * read the two p-values, and see why one of them can mislead.
#
# **Time:** about 10 minutes (1 minute with `CORDSNEURO_TUTORIAL_SMALL=1`).

# %%
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from cordsneuro.analyses import neural
from cordsneuro.models.cordsnet import cordsnet_r2
from cordsneuro.plotting import plot_neural_predictivity

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"
N_IMAGES = 60 if SMALL else 160
N_TRIALS = 5 if SMALL else 20
torch.manual_seed(0)
torch.set_num_threads(1)

# %% [markdown]
# ## 1. Record a model
#
# A CordsNet-R2 with random weights sees smooth random images for 100 ms from its spontaneous
# state, then a blank screen for 150 ms. `VisionTrajectory.to_xarray()` returns the recorded areas as a DataArray with dims
# `time_bin × presentation × neuroid` and the edges of every 2 ms step in ms.

# %%
images = torch.nn.functional.interpolate(torch.randn(N_IMAGES, 3, 4, 4), size=(16, 16))
model = cordsnet_r2(image_size=16).eval()
protocol = neural.stimulus_protocol(250.0, image_ms=100.0, dt=model.dt)
with torch.no_grad():
    trajectory = model.simulate(images, protocol, record_areas=[1], record_outputs=False)
activity = trajectory.to_xarray()
image_ids = [f"image{i}" for i in range(N_IMAGES)]
activity = activity.assign_coords(image_id=("presentation", image_ids))
print(dict(activity.sizes))

# %% [markdown]
# ## 2. Neural data with a known answer
#
# Without a monkey at hand, make "IT" recordings as a noisy linear map of the model's last
# area delayed by 30 ms, in 10 ms bins from 50 to 250 ms, and a "control" region with the same
# time-averaged responses but time courses unrelated to the model's.

# %%
starts = np.arange(50.0, 250.0, 10.0)
ends = starts + 10.0
delayed = neural.bin_model_activity(activity, starts, ends, lag_ms=30.0)
features = delayed.values.transpose(0, 2, 1)  # (images, bins, units)
it = neural.planted_neural_data(features, 20, noise=1.0, seed=1)
control = neural.planted_neural_data(features, 20, noise=1.0, related=False, seed=2)
data = neural.neural_assembly(
    np.concatenate([it, control], axis=2).transpose(0, 2, 1),
    image_ids,
    ["IT"] * 20 + ["control"] * 20,
    starts,
    ends,
)
path = Path(tempfile.mkdtemp()) / "recordings.nc"
neural.save_assembly(data, path)
data = neural.load_assembly(path)
print(data)

# %% [markdown]
# ## 3. Find the lag
#
# Neural responses rise later than the model's. `search_lag` bins the model at each candidate
# lag and keeps the one whose population time course matches the neural one best.

# %%
found = neural.search_lag(activity, data.sel(neuroid=data.region == "IT"), np.arange(0, 61, 10))
print(dict(zip(found.lags_ms, np.round(found.scores, 3))), "->", found.lag_ms, "ms")

# %% [markdown]
# ## 4. Score, with the temporal-shuffle control
#
# Per trial: 10 splits of the images (90/10), a PLS regression (25 components) from the
# `[N_t·N_i, N_1]` model matrix to the `[N_t·N_i, N_2]` neural matrix, the median over neuroids
# of the test Pearson r, the mean over splits; the same with the data shuffled in time; a
# paired t-test over trials.

# %%
result = neural.temporal_predictivity(
    activity, data, lag_ms=found.lag_ms, n_trials=N_TRIALS, n_pca=50, progress=False
)
print(result.format_table())
figure = plot_neural_predictivity(result)

# %% [markdown]
# IT scores far above its shuffles. The control's classic time-averaged score is as high as
# IT's (same time-averaged responses), but its time courses carry nothing the model predicts.
# Appendix E's paired t-test treats the trials as independent although the unshuffled data are
# the same in every trial, so it can still call the control "different"; `p_exchangeable`
# compares the unshuffled score with the spread of the shuffles and does not.
#
# ## Exercises
#
# Worked solutions: [solutions/08_neural_predictivity](../solutions/08_neural_predictivity/)
# (the file `docs/tutorials/solutions/08_neural_predictivity.py`).
#
# ### Exercise 1: no lag
#
# Score with `lag_ms=0` instead of the found lag. What happens to IT's unshuffled score?
#
# ### Exercise 2: noise
#
# Raise the noise of the planted IT data (`noise=`) until the difference from the shuffles is
# no longer significant by `p_exchangeable`.
#
# ### Exercise 3: ridge
#
# Use `regression="ridge"` and compare the scores with PLS.
