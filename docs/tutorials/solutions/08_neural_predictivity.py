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
# # Solutions to tutorial 8: neural predictivity over time
#
# The setup of the tutorial, in brief: a CordsNet-R2 recorded for 250 ms (100 ms of image),
# "IT" data planted from its last area with a 30 ms delay.

# %%
import os

import numpy as np
import torch

from cordsneuro.analyses import neural
from cordsneuro.models.cordsnet import cordsnet_r2

SMALL = os.environ.get("CORDSNEURO_TUTORIAL_SMALL") == "1"
N_IMAGES, N_TRIALS = (60, 5) if SMALL else (160, 20)
torch.manual_seed(0)
model = cordsnet_r2(image_size=16).eval()
images = torch.nn.functional.interpolate(torch.randn(N_IMAGES, 3, 4, 4), size=(16, 16))
image_ids = [f"image{i}" for i in range(N_IMAGES)]
with torch.no_grad():
    recording = model.simulate(images, neural.stimulus_protocol(250.0, 100.0, model.dt),
                               record_areas=[1], record_outputs=False)  # fmt: skip
activity = recording.to_xarray().assign_coords(image_id=("presentation", image_ids))
starts = np.arange(50.0, 250.0, 10.0)
ends = starts + 10.0
features = neural.bin_model_activity(activity, starts, ends, lag_ms=30.0).values
features = features.transpose(0, 2, 1)
data = neural.neural_assembly(
    neural.planted_neural_data(features, 20, seed=1).transpose(0, 2, 1), image_ids, "IT",
    starts, ends,
)  # fmt: skip
found = neural.search_lag(activity, data, np.arange(0, 61, 10))

# %% [markdown]
# ## Exercise 1: no lag
# Without the lag the model's rise comes 30 ms early: the unshuffled IT score drops toward the
# shuffled one.

# %%
no_lag = neural.temporal_predictivity(
    activity, data, lag_ms=0.0, regions=["IT"], n_trials=N_TRIALS, n_pca=50, progress=False
)
print(no_lag.format_table())

# %% [markdown]
# ## Exercise 2: more noise
# The unshuffled score falls with the noise and the p-value grows; with a noise s.d. 16 times
# the signal's the difference from the shuffles is gone.

# %%
for noise in (1.0, 4.0, 16.0):
    noisy = neural.planted_neural_data(features, 20, noise=noise, seed=1)
    assembly = neural.neural_assembly(noisy.transpose(0, 2, 1), image_ids, "IT", starts, ends)
    row = neural.temporal_predictivity(
        activity, assembly, lag_ms=found.lag_ms, n_trials=N_TRIALS, n_pca=50, progress=False
    ).table()[0]
    print(noise, round(row["unshuffled_mean"], 3), round(row["shuffled_mean"], 3),
          f"{row['p_exchangeable']:.1e}")  # fmt: skip

# %% [markdown]
# ## Exercise 3: ridge
# Ridge on the same PCA-reduced features gives scores close to PLS's.

# %%
ridge = neural.temporal_predictivity(
    activity, data, lag_ms=found.lag_ms, regression="ridge", alpha=1.0,
    n_trials=N_TRIALS, n_pca=50, progress=False,
)  # fmt: skip
print(ridge.format_table())
