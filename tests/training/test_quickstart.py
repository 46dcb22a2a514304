"""``cordsneuro quickstart`` end to end: Table S1 table, then a ConvRNN trained on PDM to
criterion, saved, with its psychometric curve and trajectories as PNG files."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cordsneuro


@pytest.mark.slow  # the Table S1 simulations plus a training run, in a child process
def test_quickstart_trains_saves_and_plots(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cordsneuro.cli",
            "quickstart",
            "--out",
            str(tmp_path),
            "--steps",
            "50",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "all parameter counts match Table S1" in out.stdout
    assert "reached the criterion" in out.stdout
    for name in ("pdm_psychometric.png", "pdm_trajectories.png"):
        path = tmp_path / name
        assert str(path) in out.stdout
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = cordsneuro.load(tmp_path / "pdm_convrnn")
    assert type(model).__name__ == "ConvRNN" and model.n_neurons == 125
    accuracy = cordsneuro.tasks.evaluate(model, "PDM", n_trials=500, seed=5).accuracy
    assert accuracy >= 0.9
