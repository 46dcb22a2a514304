"""Crash-safe writes: an interrupted write leaves the previous version intact."""

import pytest

from cordsneuro._atomic import atomic_path


def test_failed_file_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_directory_is_replaced_whole(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "a").write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "a").write_text("new")
        raise RuntimeError("killed")
    assert (target / "a").read_text() == "old"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "b").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
