"""plot_trial draws what the batch holds: the scored steps, the epochs and the inputs."""

import numpy as np
import pytest

from cordsneuro import tasks
from cordsneuro.plotting import plot_trial


def test_plot_trial_shows_the_mask_the_epochs_and_every_input():
    cdm = tasks.make("CDM", seed=0)
    batch = tasks.make_batch(cdm, 3, seed=0)
    fig = plot_trial(batch, dt=cdm.dt, trial=1, input_names=cdm.input_names)
    ax_in, _, ax_mask = fig.axes
    assert len(ax_in.lines) == batch.inputs.shape[-1] == 4
    np.testing.assert_array_equal(ax_in.lines[2].get_ydata(), batch.inputs[1, :, 2].numpy())
    # the shaded "scored" area spans exactly the masked steps (the decision epoch)
    path = ax_mask.collections[0].get_paths()[0].vertices
    scored_ms = path[path[:, 1] > 0.5, 0]
    info = batch.trial_info
    start, end = info["decision_start"][1], info["decision_end"][1]
    assert scored_ms.min() == pytest.approx(cdm.dt * start)
    assert scored_ms.max() == pytest.approx(cdm.dt * end)
    labels = [t.get_text() for t in ax_in.texts]
    assert labels == [p for p in cdm.periods if info[f"{p}_end"][1] > info[f"{p}_start"][1]]


def test_plot_trial_rejects_a_trial_outside_the_batch():
    batch = tasks.make_batch("PDM", 2, seed=0)
    with pytest.raises(ValueError, match="trial must lie in"):
        plot_trial(batch, dt=20.0, trial=2)
