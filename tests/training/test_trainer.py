"""The trainer: reaches criteria, works for every architecture and for neurogym's own envs,
checkpoints without pickle, resumes exactly after a kill, stops on NaN, rejects bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch

import cordsneuro
from cordsneuro import ConvRNN, FullRNN, train
from cordsneuro.models.recurrent import table_s1

warnings.filterwarnings("ignore", module="gymnasium")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("arch", ["full", "lowrank", "sparse", "conv"])
def test_every_architecture_reaches_pdm_criterion(arch):
    model = table_s1(125, arch, 1, 2, seed=0)
    result = train(
        model, "PDM", until="criterion", steps=400, lr=3e-3, eval_every=25, progress=False
    )
    assert result.reached and result.stopped == "criterion"
    assert result.metrics["accuracy"] >= 0.9
    # an independent check on fresh trials
    assert cordsneuro.tasks.evaluate(model, "PDM", n_trials=500, seed=99).accuracy >= 0.9
    assert len(result.history["loss"]) == result.steps == result.history["step"][-1]
    assert result.history["evaluations"][-1]["step"] == result.steps


def test_untrained_model_is_at_chance():
    ev = cordsneuro.tasks.evaluate(FullRNN(32, 2, 2, seed=0), "DMS", n_trials=400)
    assert 0.35 < ev.accuracy < 0.65


def test_a_neurogym_task_trains_through_the_same_call():
    env_kwargs = {
        "dt": 20,
        "timing": {"fixation": 100, "stimulus": 400, "delay": 0, "decision": 100},
    }
    model = FullRNN(64, 3, 3, seed=0, noise_std=0.0)
    result = train(
        model, "PerceptualDecisionMaking-v0", steps=300, lr=1e-2, batch_size=32,
        eval_every=100, progress=False, task_kwargs=env_kwargs,
    )  # fmt: skip
    # chance is 1/2 (two choices, 20 % of trials at zero coherence)
    assert result.metrics["accuracy"] > 0.75


TRAIN = dict(
    steps=9, lr=1e-2, batch_size=8, seed=3, eval_every=4, eval_trials=16, checkpoint_every=2
)


def _model() -> FullRNN:
    return FullRNN(24, 1, 2, seed=1, noise_std=0.05)


@pytest.mark.slow  # two child processes that import torch and neurogym
def test_kill_and_resume_gives_the_same_weights(tmp_path):
    # uninterrupted, in this process
    whole = _model()
    train(whole, "PDM", checkpoint_dir=tmp_path / "whole", progress=False, **TRAIN)
    # killed with SIGKILL at step 5 in a child process, then resumed there
    code = textwrap.dedent(
        f"""
        import os, signal, sys, torch, warnings
        warnings.filterwarnings("ignore")
        torch.set_num_threads(1)
        from cordsneuro import FullRNN, train
        kill_at = int(sys.argv[1])
        model = FullRNN(24, 1, 2, seed=1, noise_std=0.05)
        def cb(step, loss):
            if step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        train(model, "PDM", checkpoint_dir={str(tmp_path / "killed")!r}, resume=True,
              progress=False, callback=cb, **{TRAIN!r})
        model.save({str(tmp_path / "final")!r})
        """
    )
    killed = subprocess.run([sys.executable, "-c", code, "5"], capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr  # really killed (SIGKILL), mid-run
    record = json.loads((tmp_path / "killed" / "checkpoint" / "trainer.json").read_text())
    assert record["step"] == 4  # the last checkpoint before the kill
    resumed = subprocess.run([sys.executable, "-c", code, "-1"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    final = cordsneuro.load(tmp_path / "final").state_dict()
    for key, value in whole.state_dict().items():
        assert torch.equal(final[key], value), key
    # the resumed run did not restart from scratch: its learning curve is the uninterrupted one
    h1 = json.loads((tmp_path / "whole" / "checkpoint" / "trainer.json").read_text())["history"]
    h2 = json.loads((tmp_path / "killed" / "checkpoint" / "trainer.json").read_text())["history"]
    assert h1 == h2 and len(h1["loss"]) == 9


def test_checkpoint_layout_has_no_pickle(tmp_path):
    model = ConvRNN(2, 3, 3, 1, 2, kernel_size=2, seed=0)
    result = train(model, "PDM", steps=3, checkpoint_dir=tmp_path, eval_every=3, progress=False)
    files = sorted(
        p.relative_to(result.checkpoint).as_posix() for p in result.checkpoint.rglob("*")
    )
    assert files == [
        "model", "model/config.json", "model/weights.safetensors", "state.safetensors", "trainer.json",
    ]  # fmt: skip
    loaded = cordsneuro.load(result.checkpoint / "model")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    from safetensors.torch import load_file

    state = load_file(str(result.checkpoint / "state.safetensors"))
    assert any(k.endswith("exp_avg_sq") for k in state) and "rng.noise" in state


def test_resume_of_a_finished_run_returns_at_once(tmp_path):
    model = FullRNN(16, 1, 2, seed=0)
    train(model, "PDM", steps=4, checkpoint_dir=tmp_path, eval_every=2, progress=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    again = FullRNN(16, 1, 2, seed=0)
    result = train(
        again, "PDM", steps=4, checkpoint_dir=tmp_path, eval_every=2, resume=True, progress=False
    )
    assert result.steps == 4
    for key, value in before.items():
        assert torch.equal(again.state_dict()[key], value)


def test_nan_loss_stops_with_a_clear_message_and_keeps_last_good_checkpoint(tmp_path):
    model = FullRNN(16, 1, 2, seed=0)

    def poison(step, loss):
        if step == 5:  # after the checkpoint of step 4
            with torch.no_grad():
                model.w_out.fill_(float("nan"))

    with pytest.raises(FloatingPointError, match="step 6.*last good checkpoint"):
        train(
            model, "PDM", steps=10, checkpoint_dir=tmp_path, checkpoint_every=2, eval_every=100,
            progress=False, callback=poison,
        )  # fmt: skip
    record = json.loads((tmp_path / "checkpoint" / "trainer.json").read_text())
    assert record["step"] == 4
    good = cordsneuro.load(tmp_path / "checkpoint" / "model")
    assert all(torch.isfinite(v).all() for v in good.state_dict().values())


def test_checkpoint_from_another_model_is_refused(tmp_path):
    train(
        FullRNN(16, 1, 2, seed=0),
        "PDM",
        steps=2,
        checkpoint_dir=tmp_path,
        eval_every=2,
        progress=False,
    )
    other = ConvRNN(2, 3, 3, 1, 2, kernel_size=2, seed=0)
    with pytest.raises(ValueError, match="saved from FullRNN"):
        train(
            other,
            "PDM",
            steps=4,
            checkpoint_dir=tmp_path,
            resume=True,
            eval_every=2,
            progress=False,
        )
    with pytest.raises(ValueError, match="settings differ.*lr"):
        train(
            FullRNN(16, 1, 2, seed=0), "PDM", steps=4, lr=0.5, checkpoint_dir=tmp_path,
            resume=True, eval_every=2, progress=False,
        )  # fmt: skip


def test_bad_input_raises(tmp_path):
    model = FullRNN(16, 1, 2, seed=0)
    with pytest.raises(ValueError, match="input_size 1.*4 input"):
        train(model, "CDM", steps=1)
    with pytest.raises(ValueError, match="output_size 2.*1 output"):
        train(model, "PWM", steps=1)
    with pytest.raises(ValueError, match="dt"):
        train(FullRNN(16, 1, 2, dt=10.0), "PDM", steps=1)
    with pytest.raises(ValueError, match="unknown task id"):
        train(model, "NoSuchTask-v3", steps=1)
    with pytest.raises(ValueError, match="batch_size"):
        train(model, "PDM", steps=1, batch_size=0)
    with pytest.raises(ValueError, match="steps"):
        train(model, "PDM", steps=0)
    with pytest.raises(ValueError, match="give steps"):
        train(model, "PDM")
    with pytest.raises(ValueError, match="lr"):
        train(model, "PDM", steps=1, lr=-1.0)
    with pytest.raises(ValueError, match="until"):
        train(model, "PDM", until="whenever")
    with pytest.raises(ValueError, match="checkpoint_dir"):
        train(model, "PDM", steps=1, resume=True)
    with pytest.raises(TypeError, match="DynamicalRNN"):
        train(torch.nn.Linear(2, 2), "PDM", steps=1)
    with pytest.raises(ValueError, match="criterion names metric"):
        train(model, "PDM", steps=2, until={"r2": 0.9}, eval_every=1, progress=False)


def test_same_seed_same_training():
    a, b = FullRNN(16, 1, 2, seed=0, noise_std=0.1), FullRNN(16, 1, 2, seed=0, noise_std=0.1)
    ra = train(a, "PDM", steps=5, seed=4, progress=False)
    rb = train(b, "PDM", steps=5, seed=4, progress=False)
    assert ra.history["loss"] == rb.history["loss"]
    c = FullRNN(16, 1, 2, seed=0, noise_std=0.1)
    assert train(c, "PDM", steps=5, seed=5, progress=False).history["loss"] != ra.history["loss"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_trains_on_gpu():
    model = table_s1(125, "conv", 1, 2, seed=0).cuda()
    result = train(
        model, "PDM", until="criterion", steps=400, lr=3e-3, eval_every=25, progress=False
    )
    assert result.reached


def test_environment_of_the_caller_is_not_modified():
    env = cordsneuro.tasks.make("PDM", seed=11)
    state = json.dumps(env.rng_state())
    train(FullRNN(8, 1, 2, seed=0), env, steps=2, progress=False)
    assert json.dumps(env.rng_state()) == state
    # the env's own settings are trained on (here its dt of 10 ms), through a private copy
    fine = cordsneuro.tasks.make("PDM", dt=10.0, seed=11)
    with pytest.raises(ValueError, match="dt"):
        train(FullRNN(8, 1, 2, seed=0), fine, steps=1, progress=False)
    result = train(FullRNN(8, 1, 2, dt=10.0, seed=0), fine, steps=1, eval_trials=8, progress=False)
    assert result.steps == 1 and fine.dt == 10.0


def test_recipes():
    from cordsneuro.training import paper_model, recipe

    assert recipe("DMS", "lowrank")["lr"] == 1e-3 and recipe("DMS", "conv")["model"]["gain"] == 1.5
    assert recipe("cordsneuro/PDM-v0")["lr"] == recipe("PDM")["lr"]
    model = paper_model("PWM", "lowrank")
    eigenvalues = torch.linalg.eigvals(model.q @ model.p)
    torch.testing.assert_close(
        eigenvalues, torch.ones(2, dtype=eigenvalues.dtype), atol=1e-5, rtol=0
    )
    conv = paper_model("MemoryProRing", "conv")
    assert (conv.input_size, conv.output_size, conv.n_neurons) == (3, 2, 125)
    with pytest.raises(ValueError, match="no recipe"):
        recipe("Blackjack")


def test_low_rank_network_learns_dms_with_its_recipe():
    # the hardest pairing here (an XOR held over a delay of up to 3 s, in a rank-2 network)
    from cordsneuro.training import train_paper_task

    result = train_paper_task("DMS", "lowrank", seed=0, steps=300, progress=False)
    assert result.reached and result.metrics["accuracy"] >= 0.95
    assert cordsneuro.tasks.evaluate(result.model, "DMS", n_trials=400, seed=3).accuracy >= 0.95


def test_response_accuracy_is_reported_apart():
    result = train(FullRNN(16, 1, 2, seed=0), "PDM", steps=2, eval_every=2, progress=False)
    last = result.history["evaluations"][-1]
    assert "response_accuracy" in last and "accuracy" in last
    # per step on the decision epoch, against a hand count on the held-out trials
    model = result.model
    ev = cordsneuro.tasks.evaluate(model, "PDM", n_trials=64, seed=3)
    batch = cordsneuro.tasks.make_batch("PDM", 64, seed=3)
    with torch.no_grad():
        out = model(batch.inputs).outputs
    right = (out.argmax(-1) == batch.targets)[batch.mask]
    assert ev.metrics["response_accuracy"] == pytest.approx(right.float().mean().item())


def test_loss_weights_change_what_is_trained():
    # weights on the fixation epoch only (targets 0 there) train the network to answer class 0
    # everywhere: the decision accuracy falls to that of "always negative" (one half)
    model = FullRNN(16, 1, 2, seed=0)
    train(
        model, "PDM", steps=60, lr=2e-2, batch_size=16, eval_trials=32,
        loss_weights={"fixation": 1.0}, progress=False,
    )  # fmt: skip
    ev = cordsneuro.tasks.evaluate(model, "PDM", n_trials=400)
    assert (ev.per_trial["choice"] == 0).mean() > 0.95
    with pytest.raises(ValueError, match="epoch 'go'"):
        train(model, "PDM", steps=1, loss_weights={"go": 1.0}, progress=False)


def test_regularisers_and_a_custom_loss():
    def weights_norm(m):
        return sum((p**2).sum().item() for p in m.parameters() if p.dim() >= 2)

    kw = dict(steps=30, lr=1e-2, batch_size=16, eval_trials=16, progress=False)
    plain, l2 = FullRNN(16, 1, 2, seed=0), FullRNN(16, 1, 2, seed=0)
    train(plain, "PDM", **kw)
    train(l2, "PDM", l2_weights=1.0, **kw)
    assert weights_norm(l2) < 0.8 * weights_norm(plain)
    l1 = FullRNN(16, 1, 2, seed=0)
    train(l1, "PDM", l1_weights=1.0, **kw)
    small = sum((p.abs() < 1e-2).sum().item() for p in l1.parameters() if p.dim() >= 2)
    assert small > 2 * sum(
        (p.abs() < 1e-2).sum().item() for p in plain.parameters() if p.dim() >= 2
    )
    quiet = FullRNN(16, 1, 2, seed=0)
    train(quiet, "PDM", l2_rates=10.0, **kw)
    batch = cordsneuro.tasks.make_batch("PDM", 32, seed=1)
    with torch.no_grad():
        assert (quiet(batch.inputs).rates ** 2).mean() < 0.5 * (
            plain(batch.inputs).rates ** 2
        ).mean()
    # a custom loss: called with outputs, targets and weights; a zero loss changes nothing
    seen = []

    def zero(outputs, targets, weights):
        seen.append((outputs.shape, targets.shape, weights.shape))
        return (outputs * 0).sum()

    model = FullRNN(16, 1, 2, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, "PDM", loss=zero, steps=3, batch_size=4, progress=False)
    assert seen[0][0][:2] == seen[0][1] == seen[0][2] and seen[0][0][0] == 4
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    with pytest.raises(ValueError, match="l2_rates"):
        train(model, "PDM", steps=1, l2_rates=-1.0)


def test_a_public_curriculum(tmp_path):
    from cordsneuro.training import train_curriculum

    model = FullRNN(32, 1, 2, seed=0)
    stages = [{"timing": {"stimulus": 200}, "coherences": [-0.4, 0.4]}, {}]
    result = train_curriculum(
        model, "PDM", stages, steps=300, lr=1e-2, eval_every=25, progress=False,
        checkpoint_dir=tmp_path,
    )  # fmt: skip
    assert result.reached and len(result.history["stages"]) == 2
    assert result.history["stages"][-1] == result.steps == len(result.history["loss"])
    # each stage trained on its own settings (recorded in its checkpoint)
    first = json.loads((tmp_path / "stage_0" / "checkpoint" / "trainer.json").read_text())
    last = json.loads((tmp_path / "stage_1" / "checkpoint" / "trainer.json").read_text())
    assert first["settings"]["task"]["timing"]["stimulus"] == 200
    assert last["settings"]["task"]["timing"]["stimulus"] == 800
    assert cordsneuro.tasks.evaluate(model, "PDM", n_trials=400, seed=7).accuracy >= 0.9
    with pytest.raises(ValueError, match="stages"):
        train_curriculum(model, "PDM", [], steps=1)
