"""Datasets, augmentation presets and the resumable sampler (Appendix C.2)."""

import pytest
import torch
from torch.nn import functional as F

from cordsneuro.training.vision import data as vdata
from cordsneuro.training.vision.losses import linear_loss


@pytest.fixture(scope="module")
def digits():
    ds = vdata.DigitsDataset("train")
    images = ds.images[:16]  # (16, 1, 8, 8) in [0, 1]
    return images, ds.targets[:16]


def test_digits_split_is_fixed_and_disjoint():
    train, test = vdata.DigitsDataset("train"), vdata.DigitsDataset("test")
    assert (len(train), len(test)) == (1437, 360)
    assert torch.equal(train.images, vdata.DigitsDataset("train").images)
    rows = {tuple(x.flatten().tolist()) for x in test.images}
    shared = sum(tuple(x.flatten().tolist()) in rows for x in train.images)
    assert shared < 10  # the digits set holds a few duplicate images, nothing more
    assert set(test.targets.tolist()) == set(range(10))
    assert 0 <= float(train.images.min()) and float(train.images.max()) <= 1


def _real_batch(name, digits):
    """Digit images as a batch of ``name``'s channels and native size (real pixels)."""
    images, labels = digits
    spec = vdata.get_spec(name)
    x = F.interpolate(images, size=spec.native_size, mode="bilinear", align_corners=False)
    return x.expand(-1, spec.in_channels, -1, -1).clamp(0, 1), labels


@pytest.mark.parametrize("name", sorted(vdata.DATASETS))
def test_every_preset_on_a_real_batch(name, digits):
    spec = vdata.get_spec(name)
    batch, labels = _real_batch(name, digits)
    test_tf = vdata.augmentation(name, train=False)
    train_tf = vdata.augmentation(name, train=True)
    mean = torch.tensor(spec.mean)[:, None, None]
    std = torch.tensor(spec.std)[:, None, None]
    for i in range(4):
        x = batch[i]
        plain = test_tf(x)
        if name != "imagenet":  # at native size the test transform is the normalisation only
            torch.testing.assert_close(plain, (x - mean) / std)
        torch.manual_seed(i)
        aug = train_tf(x)
        assert aug.shape == (spec.in_channels, spec.native_size, spec.native_size)
        assert aug.dtype == torch.float32 and torch.isfinite(aug).all()
        assert not torch.equal(aug, plain)  # the preset changed the image
    # the 224 option resizes first
    big = vdata.augmentation(name, train=False, image_size=64)(batch[0])
    assert big.shape == (spec.in_channels, 64, 64)
    mixing = vdata.batch_mixing(name)
    assert (mixing is not None) == spec.mixing
    if mixing is not None:
        x = torch.stack([test_tf(b) for b in batch])
        mixed, soft = vdata.mix_batch(mixing, x, labels, seed=0, epoch=0, batch=0)
        assert soft.shape == (len(labels), spec.num_classes)
        torch.testing.assert_close(soft.sum(1), torch.ones(len(labels)))
        assert not torch.equal(mixed, x)
        again = vdata.mix_batch(mixing, x, labels, seed=0, epoch=0, batch=0)
        assert torch.equal(again[0], mixed) and torch.equal(again[1], soft)
        logits = torch.zeros(len(labels), 30, spec.num_classes, requires_grad=True)
        linear_loss(logits, soft).backward()  # soft labels go through the losses
        assert torch.isfinite(logits.grad).all()


def test_augmentation_is_seeded_per_sample_and_epoch():
    ds, _ = vdata.load_dataset("digits", "train", seed=3)
    ds.set_epoch(1)
    a = ds[5][0]
    torch.manual_seed(123)  # the global generator does not matter
    assert torch.equal(ds[5][0], a)
    ds.set_epoch(2)
    assert not torch.equal(ds[5][0], a)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MNIST/raw/train-images-idx3-ubyte"):
        vdata.load_dataset("mnist", "train", root=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"cifar-10-batches-py/data_batch_1"):
        vdata.load_dataset("cifar10", "train", root=tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        vdata.load_dataset("svhn", "train")
    with pytest.raises(ValueError, match="needs root="):
        vdata.load_dataset("cifar100", "train")


def test_sampler_shards_cover_the_epoch_and_resume_mid_epoch():
    n, bs = 23, 4
    samplers = [vdata.ResumableBatchSampler(n, bs, seed=1, rank=r, world_size=2) for r in (0, 1)]
    for s in samplers:
        s.set_epoch(0)
    batches = [list(s) for s in samplers]
    assert len(batches[0]) == len(batches[1]) == 3  # ceil(23 / 8)
    seen = {i for bl in batches for b in bl for i in b}
    assert seen == set(range(n))  # padded by wrapping around, nothing missed
    samplers[0].set_epoch(0, start_batch=2)
    assert list(samplers[0]) == batches[0][2:]
    samplers[0].set_epoch(1)
    assert list(samplers[0]) != batches[0]
