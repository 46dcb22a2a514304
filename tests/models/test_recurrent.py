"""The four single-area architectures (Section 2.1, Appendix B.1, B.3, Table S1)."""

import json

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import cordsneuro
from cordsneuro import ConvRNN, FullRNN, LowRankRNN, SparseRNN
from cordsneuro.models.recurrent import TABLE_S1, recurrent_parameter_count, table_s1

ARCHS = ("full", "lowrank", "sparse", "conv")


def conv_matrix_from_unit_vectors(model: ConvRNN) -> torch.Tensor:
    """Appendix B.1: column j of the matrix is the convolution applied to unit vector e_j."""
    n = model.n_neurons
    eye = torch.eye(n, dtype=model.kernel.dtype).reshape(n, *model.grid)
    return model.convolve(eye).reshape(n, n).T


@pytest.mark.parametrize("kernel_size", [3, 4, 5, 6])
@pytest.mark.parametrize("padding", ["zeros", "circular"])
def test_conv_recurrent_matrix_equals_convolution_of_unit_vectors(kernel_size, padding):
    model = ConvRNN(
        3, 7, 8, 1, 1, kernel_size=kernel_size, padding=padding, seed=kernel_size
    ).double()
    dense = model.recurrent_matrix()
    torch.testing.assert_close(dense, conv_matrix_from_unit_vectors(model), rtol=0, atol=1e-12)
    x = torch.randn(5, model.n_neurons, dtype=torch.float64)
    torch.testing.assert_close(model.recurrent_operator()(x), x @ dense.T)


@pytest.mark.parametrize("kernel_size", [3, 4, 6])
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_zero_padding_is_pytorch_same_padding(kernel_size):
    """Independent implementation: PyTorch's own padding='same' (asymmetric for even k)."""
    model = ConvRNN(2, 6, 6, 1, 1, kernel_size=kernel_size, seed=0).double()
    x = torch.randn(4, 2, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(model.convolve(x), F.conv2d(x, model.kernel, padding="same"))


def test_conv_recurrent_matrix_single_channel_by_hand():
    """Appendix B.1 eq. 1 written out for one channel, 3×3 grid, 2×2 kernel, zero padding after."""
    model = ConvRNN(1, 3, 3, 1, 1, kernel_size=2, seed=0).double()
    k = model.kernel[0, 0].detach().numpy()
    expected = np.zeros((9, 9))
    for i in range(3):
        for j in range(3):
            for m in range(2):
                for n in range(2):
                    if i + m < 3 and j + n < 3:
                        expected[i * 3 + j, (i + m) * 3 + (j + n)] += k[m, n]
    np.testing.assert_allclose(model.recurrent_matrix().detach().numpy(), expected)


def test_circular_padding_matrix_is_block_circulant_with_fft_spectrum():
    """One channel with circular padding: the eigenvalues are the 2-D DFT of the wrapped kernel."""
    model = ConvRNN(1, 6, 6, 1, 1, kernel_size=3, padding="circular", seed=2).double()
    dense = model.recurrent_matrix().detach().numpy()
    # kernel tap (dy, dx) reads input at offset (dy - 1, dx - 1): eigenvalue Σ k e^{+iω·offset}
    k = model.kernel[0, 0].detach().numpy()
    freqs = []
    for u in range(6):
        for v in range(6):
            val = sum(
                k[dy, dx] * np.exp(2j * np.pi * (u * (dy - 1) + v * (dx - 1)) / 6)
                for dy in range(3)
                for dx in range(3)
            )
            freqs.append(val)
    eig = np.linalg.eigvals(dense)
    distance = np.abs(eig[:, None] - np.array(freqs)[None, :])
    assert distance.min(axis=0).max() < 1e-10 and distance.min(axis=1).max() < 1e-10


@pytest.mark.parametrize("n", sorted(TABLE_S1))
def test_table_s1_parameter_counts(n):
    published = {125: (400, 500, 500), 216: (900, 864, 864), 512: (2304, 2048, 2048)}[n]
    counts = tuple(
        recurrent_parameter_count(table_s1(n, a, seed=0)) for a in ("conv", "lowrank", "sparse")
    )
    assert counts == published
    assert recurrent_parameter_count(table_s1(n, "full", seed=0)) == n * n
    conv = table_s1(n, "conv", seed=0)
    assert conv.n_neurons == n


@pytest.mark.parametrize("arch", ARCHS)
def test_dense_matrix_and_operator_agree(arch):
    model = table_s1(125, arch, seed=4, input_size=2, output_size=3).double()
    x = torch.randn(6, 125, dtype=torch.float64)
    torch.testing.assert_close(model.recurrent_operator()(x), x @ model.recurrent_matrix().T)
    torch.testing.assert_close(model.recurrent_operator()(x[0]), model.recurrent_matrix() @ x[0])


def test_low_rank_matrix_has_rank_r():
    model = LowRankRNN(60, 1, 1, rank=3, seed=0).double()
    assert torch.linalg.matrix_rank(model.recurrent_matrix()).item() == 3


def test_sparse_mask_is_respected_after_training_step():
    model = SparseRNN(50, 1, 1, p=0.1, seed=0)
    out = model(torch.randn(2, 5, 1)).outputs.sum()
    out.backward()
    assert torch.all(model.weight.grad[model.mask == 0] == 0)
    w = model.recurrent_matrix()
    assert torch.all(w[model.mask == 0] == 0)
    assert abs(model.mask.mean().item() - 0.1) < 0.02


@pytest.mark.parametrize("arch", ["full", "sparse"])
def test_gain_sets_spectral_radius(arch):
    """Random-matrix theory: the spectral radius of N(0, g²/N) (or its sparse rescaling) → g."""
    for gain in (0.5, 2.0):
        model = (
            FullRNN(400, 1, 1, gain=gain, seed=1)
            if arch == "full"
            else SparseRNN(400, 1, 1, p=0.2, gain=gain, seed=1)
        )
        radius = torch.linalg.eigvals(model.recurrent_matrix().detach().double()).abs().max().item()
        assert abs(radius - gain) / gain < 0.1


@pytest.mark.parametrize("arch", ARCHS)
def test_gradients_reach_every_parameter(arch):
    model = table_s1(125, arch, seed=0, input_size=2, output_size=2)
    traj = model(torch.randn(3, 6, 2), state=torch.randn(3, *model.state_shape) * 0.1)
    traj.outputs.pow(2).mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("arch", ARCHS)
def test_save_load_roundtrip_is_exact(tmp_path, arch):
    model = table_s1(
        216, arch, seed=7, input_size=3, output_size=2, activation="softplus", gain=1.3
    ).double()
    path = model.save(tmp_path / arch)
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "weights.safetensors"]
    config = json.loads((path / "config.json").read_text())
    assert (
        config["class"] == type(model).__name__
        and config["cordsneuro_version"] == cordsneuro.__version__
    )
    loaded = cordsneuro.load(path)
    assert type(loaded) is type(model)
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    x = torch.randn(2, 8, 3, dtype=torch.float64)
    torch.testing.assert_close(loaded(x).outputs, model(x).outputs, rtol=0, atol=0)


def test_save_overwrites_atomically_and_keeps_per_neuron_tau(tmp_path):
    tau = torch.linspace(50, 150, 20)
    model = FullRNN(20, 1, 1, tau=tau, seed=0)
    model.save(tmp_path / "m")
    FullRNN(20, 1, 1, seed=1).save(tmp_path / "m")  # overwrite
    model.save(tmp_path / "m")
    loaded = cordsneuro.load(tmp_path / "m")
    torch.testing.assert_close(loaded.tau, tau)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary leftovers


def test_same_seed_same_weights():
    a, b = ConvRNN(4, 5, 5, 2, 2, seed=11), ConvRNN(4, 5, 5, 2, 2, seed=11)
    for x, y in zip(a.parameters(), b.parameters()):
        assert torch.equal(x, y)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        cordsneuro.load(tmp_path / "nowhere")
    model = FullRNN(10, 1, 1, seed=0)
    path = model.save(tmp_path / "m")
    (path / "weights.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="weights.safetensors"):
        cordsneuro.load(path)
    path = model.save(tmp_path / "m2")
    config = json.loads((path / "config.json").read_text())
    config["arguments"]["n_neurons"] = 11
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="weight.*shape"):
        cordsneuro.load(path)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: LowRankRNN(10, 1, 1, rank=0), "rank"),
        (lambda: LowRankRNN(10, 1, 1, rank=11), "rank"),
        (lambda: SparseRNN(10, 1, 1, p=0.0), "p must"),
        (lambda: SparseRNN(10, 1, 1, p=1.5), "p must"),
        (lambda: SparseRNN(10, 1, 1), "exactly one"),
        (lambda: SparseRNN(10, 1, 1, n_connections=101), "n_connections"),
        (lambda: ConvRNN(2, 4, 4, 1, 1, kernel_size=5), "kernel_size"),
        (lambda: ConvRNN(2, 4, 4, 1, 1, padding="reflect"), "padding"),
        (lambda: FullRNN(0, 1, 1), "n_neurons"),
        (lambda: FullRNN(10, 0, 1), "input_size"),
        (lambda: FullRNN(10, 1, 1, gain=float("nan")), "gain"),
        (lambda: table_s1(100, "conv"), "n_neurons"),
        (lambda: table_s1(125, "dense"), "architecture"),
    ],
)
def test_bad_architecture_arguments_raise(build, match):
    with pytest.raises(ValueError, match=match):
        build()


# ----------------------------------------------------------------------------- usability


def _gym_env():
    import gymnasium as gym
    import neurogym  # noqa: F401  (registers the envs)

    return gym.make("PerceptualDecisionMaking-v0")


def test_every_public_model_builds_from_gymnasium_spaces_and_saves(tmp_path):
    env = _gym_env()
    n_in, n_out = env.observation_space.shape[0], env.action_space.n
    assert isinstance(n_out, np.integer)  # what gymnasium hands a user
    models = [
        FullRNN(np.int64(16), n_in, n_out, tau=np.float32(50.0), dt=np.float64(10.0)),
        LowRankRNN(16, n_in, n_out, rank=np.int64(2), gain=np.float32(0.9)),
        SparseRNN(16, n_in, n_out, n_connections=np.int64(40), seed=np.int64(3)),
        SparseRNN(16, n_in, n_out, p=np.float64(0.2), seed=torch.tensor(3)),
        ConvRNN(np.int64(2), np.int32(3), np.int64(3), n_in, n_out, kernel_size=np.int64(2)),
        cordsneuro.CordsNet(
            np.int64(2), in_channels=np.int64(1), num_classes=n_out, image_size=np.int64(16)
        ),
    ]
    for i, model in enumerate(models):
        stored = json.loads((model.save(tmp_path / str(i)) / "config.json").read_text())
        for value in stored["arguments"].values():  # plain Python numbers
            assert value is None or type(value) in (int, float, str, bool, list), value
        loaded = cordsneuro.load(tmp_path / str(i))
        assert repr(loaded) == repr(model)
        for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
            assert torch.equal(a, b)
    assert models[0].config["n_neurons"] == 16 and type(models[0].config["n_neurons"]) is int
    assert models[0].dt == 10.0 and float(models[0].tau) == 50.0


@pytest.mark.parametrize("cls", [FullRNN, LowRankRNN, SparseRNN, ConvRNN])
def test_signatures_are_explicit_with_the_class_defaults(cls):
    import inspect

    params = inspect.signature(cls).parameters
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert params["tau"].default == 100.0 and params["dt"].default == 20.0
    assert params["activation"].default == "tanh"
    for name in ("gain", "seed", "noise_std", "input_connectivity", "output_connectivity"):
        assert name in params


def test_repr_shows_the_settings():
    text = repr(FullRNN(32, 3, 2, gain=1.5, activation="relu", dale_ratio=0.75, seed=1))
    assert text == (
        "FullRNN(n_neurons=32, input_size=3, output_size=2, gain=1.5, seed=1, tau=100.0, "
        "dt=20.0, activation='relu', dale_ratio=0.75)"
    )
    mask = torch.zeros(10, 10)
    mask[:, :3] = 1
    text = repr(SparseRNN(10, 1, 1, rec_connectivity=mask, tau=torch.full((10,), 50.0)))
    assert "rec_connectivity=<10 × 10 mask, 30 connections>" in text and "tau=<10 values>" in text


# ----------------------------------------------------------------------------- Dale's law, masks


def _check_dale(model) -> None:
    """Element-wise: every outgoing weight of an excitatory unit ≥ 0, of an inhibitory ≤ 0."""
    w = model.recurrent_matrix().detach()
    n_exc = model.n_excitatory
    assert bool((w[:, :n_exc] >= 0).all()) and bool((w[:, n_exc:] <= 0).all())
    out = model.output_weight().detach()
    assert bool((out[:, :n_exc] >= 0).all()) and bool((out[:, n_exc:] == 0).all())


@pytest.mark.parametrize("cls", [FullRNN, SparseRNN])
def test_dale_law_start_is_signed_balanced_and_at_the_gain(cls):
    extra = {"p": 0.3} if cls is SparseRNN else {}
    model = cls(200, 2, 2, activation="relu", dale_ratio=0.8, gain=0.9, seed=0, **extra).double()
    assert model.n_excitatory == 160
    _check_dale(model)
    w = model.recurrent_matrix().detach()
    radius = torch.linalg.eigvals(w).abs().max().item()
    assert abs(radius - 0.9) < 1e-6
    # balanced on average: total inhibition about cancels total excitation
    exc, inh = w[:, :160].sum().item(), -w[:, 160:].sum().item()
    assert abs(exc - inh) < 1e-9 * exc + 0.05 * exc


def test_dale_law_and_masks_survive_training_and_saving(tmp_path):
    g = torch.Generator().manual_seed(0)
    n = 40
    rec_mask = (torch.rand(n, n, generator=g) < 0.5).float()
    in_mask = torch.ones(n, 1)
    in_mask[n // 2 :] = 0  # half the units get no input
    out_mask = torch.ones(2, n)
    out_mask[:, :5] = 0
    model = FullRNN(n, 1, 2, activation="relu", dale_ratio=0.8, seed=0,
                    input_connectivity=in_mask, rec_connectivity=rec_mask,
                    output_connectivity=out_mask)  # fmt: skip
    assert recurrent_parameter_count(model) == int(rec_mask.sum())
    cordsneuro.train(model, "PDM", steps=5, eval_every=5, eval_trials=16, batch_size=8,
                     lr=0.05, progress=False)  # fmt: skip
    _check_dale(model)
    w = model.recurrent_matrix().detach()
    assert bool((w[rec_mask == 0] == 0).all()) and bool((w[rec_mask == 1] != 0).all())
    assert bool((model.input_weight().detach()[n // 2 :] == 0).all())
    assert bool((model.output_weight().detach()[:, :5] == 0).all())
    loaded = cordsneuro.load(model.save(tmp_path / "dale"))
    torch.testing.assert_close(loaded.recurrent_matrix(), model.recurrent_matrix())
    x = torch.randn(2, 6, 1)
    torch.testing.assert_close(loaded(x).outputs, model(x).outputs)


def test_masked_sparse_rnn_keeps_its_mask_through_train(tmp_path):
    n = 30
    band = (torch.arange(n)[:, None] - torch.arange(n)[None, :]).abs() <= 2  # a ring of neighbours
    model = SparseRNN(n, 1, 2, rec_connectivity=band, seed=0)
    before = model.recurrent_matrix().detach().clone()
    cordsneuro.train(model, "PDM", steps=5, eval_every=5, eval_trials=16, batch_size=8,
                     lr=0.05, progress=False)  # fmt: skip
    after = model.recurrent_matrix().detach()
    assert not torch.equal(before, after)  # it trained
    assert torch.equal(model.mask.bool(), band)
    assert bool((after[~band] == 0).all())
    loaded = cordsneuro.load(model.save(tmp_path / "s"))
    assert torch.equal(loaded.mask, model.mask)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: FullRNN(10, 1, 1, dale_ratio=0.8), "non-negative rates"),
        (lambda: FullRNN(10, 1, 1, activation="relu", dale_ratio=1.0), "dale_ratio"),
        (lambda: FullRNN(10, 1, 1, activation="relu", dale_ratio=0.01), "no excitatory"),
        (lambda: FullRNN(10, 1, 1, rec_connectivity=torch.ones(10, 9)), "rec_connectivity"),
        (lambda: FullRNN(10, 2, 1, input_connectivity=torch.ones(2, 10)), "input_connectivity"),
        (lambda: FullRNN(10, 1, 1, output_connectivity=-torch.ones(1, 10)), ">= 0"),
        (lambda: SparseRNN(10, 1, 1, p=0.5, rec_connectivity=torch.ones(10, 10)), "exactly one"),
    ],
)
def test_bad_dale_and_mask_arguments_raise(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.slow
@pytest.mark.parametrize("task, n_inputs", [("PDM", 1), ("CDM", 4)])
def test_dale_law_full_rnn_trains_to_criterion_with_signs_intact(task, n_inputs):
    model = FullRNN(100, n_inputs, 2, activation="relu", dale_ratio=0.8, gain=0.8, seed=0)
    result = cordsneuro.train(model, task, until="criterion", steps=3000, lr=3e-3,
                              batch_size=64, eval_every=100, eval_trials=256, progress=False)  # fmt: skip
    assert result.history["evaluations"][-1]["accuracy"] >= 0.9  # the criterion of both tasks
    _check_dale(model)
