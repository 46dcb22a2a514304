"""``torchrun --nproc_per_node 2`` on CPU (gloo): identical replicas after every step, a
falling loss, and a run killed with SIGKILL that resumes to the weights of an uninterrupted
run. Also SIGTERM in one process: checkpoint, exit 143, resume to the same weights."""

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--dataset", "digits", "--model", "r2", "--stage", "direct", "--batch-size", "8",
        "--train-limit", "64", "--test-limit", "16", "--lr", "1e-3", "--quiet"]  # fmt: skip


def _port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _command(out: Path, epochs: int, nproc: int, *extra: str) -> list[str]:
    cli = ["-m", "cordsneuro.cli", "vision", "train", *ARGS, "--epochs", str(epochs)]
    cli += ["--out", str(out), *extra]
    if nproc == 1:
        return [sys.executable, *cli]
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
            "--master_port", _port(), *cli]  # fmt: skip


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def _weights(out: Path) -> dict:
    return load_file(str(out / "direct" / "model" / "weights.safetensors"))


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (torchrun starts its workers in their own sessions)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _start_and_stop(cmd: list[str], out: Path, sig: int) -> int:
    """Start ``cmd``; once the first checkpoint exists send ``sig`` to it and every process it
    started (the training processes first)."""
    proc = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    ckpt = out / "direct" / "checkpoint"
    deadline = time.time() + 300
    while not ckpt.is_dir() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ckpt.is_dir(), proc.communicate()[0]
    assert not (out / "direct" / "results.json").exists()  # stopped before the end
    for pid in [*reversed(_descendants(proc.pid)), proc.pid]:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    proc.communicate(timeout=120)
    return proc.returncode


@pytest.mark.slow
def test_torchrun_two_ranks_identical_falling_and_resumable(tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    _run(_command(full, 4, 2))
    with open(full / "direct" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4  # one row per epoch
    assert all(float(r["rank_weight_spread"]) == 0.0 for r in rows)  # after every step
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    _start_and_stop(_command(killed, 4, 2), killed, signal.SIGKILL)
    _run(_command(killed, 4, 2, "--resume"))
    a, b = _weights(full), _weights(killed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.slow
def test_sigterm_checkpoints_and_resumes_exactly(tmp_path):
    full, stopped = tmp_path / "full", tmp_path / "stopped"
    _run(_command(full, 3, 1))
    code = _start_and_stop(_command(stopped, 3, 1), stopped, signal.SIGTERM)
    assert code == 143
    assert (stopped / "direct" / "checkpoint").is_dir()
    _run(_command(stopped, 3, 1, "--resume"))
    a, b = _weights(full), _weights(stopped)
    for k in a:
        assert torch.equal(a[k], b[k]), k
