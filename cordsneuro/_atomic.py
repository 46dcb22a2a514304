"""Crash-safe writes: whatever people keep (models, checkpoints, results tables, downloads) is
written beside its destination under a temporary name and renamed into place only once it is
complete, so a crash or kill never leaves a half-written file or directory behind."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; write a file or a directory there.

    When the block finishes without an exception the temporary path replaces ``path`` with one
    rename (a directory that already exists is first moved aside, then deleted); when it raises,
    the temporary path is deleted and ``path`` is left as it was. Parent directories are
    created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():
            old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
