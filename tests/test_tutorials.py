"""Every tutorial and every exercise solution in ``docs/tutorials`` runs to the end.

The notebooks are jupytext "percent" sources; each is converted and executed in a fresh
kernel (as the documentation build does), with ``CORDSNEURO_TUTORIAL_SMALL=1`` so that the
whole set stays within a few minutes on two CPU cores. New ``NN_name.py`` files are picked up
automatically (and rendered into the docs by mkdocs-jupyter; ``mkdocs_hooks.py`` adds them to
the nav). What a tutorial must have, as checked below: a first markdown cell starting with
``# Title`` that names its learning goals and the time it takes ("N min"); 2–4 markdown headings
``Exercise <n>``; a link to ``solutions/NN_name``; and ``docs/tutorials/solutions/NN_name.py``,
which runs too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"
SOURCES = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))
SOLUTIONS = sorted((TUTORIALS / "solutions").glob("[0-9][0-9]_*.py"))


def _execute(path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORDSNEURO_TUTORIAL_SMALL", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend
    monkeypatch.setenv("PYTHONPATH", str(TUTORIALS.parents[1]))
    notebook = jupytext.read(path)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()


def test_there_are_tutorials_and_each_has_its_solutions():
    assert len(SOURCES) >= 4
    names = {p.name for p in SOLUTIONS}
    for source in SOURCES:
        assert source.name in names, f"no solutions/{source.name} for {source.name}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_tutorial_states_goals_time_and_exercises(path):
    notebook = jupytext.read(path)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert re.search(r"learning goals", first.source, re.I), "first cell: learning goals"
    assert re.search(r"\d+\s*min", first.source), "first cell: the time it takes"
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    exercises = re.findall(r"^#+\s*Exercise \d", markdown, re.M)
    assert 2 <= len(exercises) <= 4, f"{len(exercises)} exercises"
    assert f"solutions/{path.stem}" in markdown, "link to the worked solutions"


@pytest.mark.parametrize("path", SOURCES + SOLUTIONS, ids=lambda p: p.parent.name + "/" + p.stem)
def test_runs(path, tmp_path, monkeypatch):
    _execute(path, tmp_path, monkeypatch)


def test_the_docs_hook_adds_unlisted_tutorials_to_the_nav_in_order(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "mkdocs_hooks", TUTORIALS.parents[1] / "mkdocs_hooks.py"
    )
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    (tmp_path / "tutorials").mkdir()
    for name in ("01_a.py", "04_new.py", "05_c.py", "notes.py"):
        (tmp_path / "tutorials" / name).write_text("")
    nav = [
        {"Home": "index.md"},
        {"Tutorials": ["tutorials/index.md", "tutorials/05_c.py", {"One": "tutorials/01_a.py"}]},
        {"Reference": [{"API": "api.md"}]},
    ]
    config = hooks.on_config({"nav": nav, "docs_dir": str(tmp_path)})
    assert config["nav"][1]["Tutorials"] == [
        "tutorials/index.md",
        {"One": "tutorials/01_a.py"},
        "tutorials/04_new.py",
        "tutorials/05_c.py",
    ]
    assert config["nav"][2] == {"Reference": [{"API": "api.md"}]}
