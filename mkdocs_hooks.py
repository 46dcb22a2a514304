"""mkdocs hook: every tutorial ``docs/tutorials/NN_name.py`` appears in the nav.

Tutorials listed in ``mkdocs.yml`` keep their place; any other ``NN_*.py`` is appended to the
"Tutorials" section, and the section's tutorials are kept in numerical order (a tutorial
added without a title takes the notebook's first heading).
"""

from __future__ import annotations

import re
from pathlib import Path


def _paths(nav) -> set[str]:
    found: set[str] = set()
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            found |= _paths(value)
        elif isinstance(value, str):
            found.add(value)
    return found


def on_config(config, **kwargs):
    nav = config.get("nav")
    if not nav:
        return config
    section = next(
        (item["Tutorials"] for item in nav if isinstance(item, dict) and "Tutorials" in item),
        None,
    )
    if section is None:
        return config
    listed = _paths(nav)
    docs = Path(config["docs_dir"])
    for path in sorted((docs / "tutorials").glob("[0-9][0-9]_*.py")):
        rel = path.relative_to(docs).as_posix()
        if rel not in listed:
            section.append(rel)
    tutorials = [item for item in section if _tutorial(item)]
    others = [item for item in section if not _tutorial(item)]
    section[:] = others + sorted(tutorials, key=_tutorial)
    return config


def _tutorial(item) -> str:
    """The path of a nav entry if it is a numbered tutorial, else ``""``."""
    value = next(iter(item.values())) if isinstance(item, dict) else item
    if isinstance(value, str) and re.fullmatch(r"tutorials/\d\d_\w+\.py", value):
        return value
    return ""
