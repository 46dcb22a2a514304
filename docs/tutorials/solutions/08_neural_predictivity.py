# ruff: noqa: F821  (names come from the tutorial's cells)
# %% [markdown]
# # Solutions · 08 Neural predictivity over time
#
# Run after the tutorial's cells (they define `activity`, `data`, `features`, `image_ids`,
# `starts`, `ends`, `found`, `N_TRIALS`).

# %% [markdown]
# ## 1. No lag
# Without the lag the model's rise comes 30 ms early: the unshuffled IT score drops toward the
# shuffled one.

# %%
no_lag = neural.temporal_predictivity(
    activity, data, lag_ms=0.0, regions=["IT"], n_trials=N_TRIALS, n_pca=50, progress=False
)
print(no_lag.format_table())

# %% [markdown]
# ## 2. More noise
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
# ## 3. Ridge
# Ridge on the same PCA-reduced features gives scores close to PLS's.

# %%
ridge = neural.temporal_predictivity(
    activity, data, lag_ms=found.lag_ms, regression="ridge", alpha=1.0,
    n_trials=N_TRIALS, n_pca=50, progress=False,
)  # fmt: skip
print(ridge.format_table())
