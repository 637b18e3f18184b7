"""The project's files as a clone gets them: no merge's conflict markers (a README showing
both sides of a merge misleads whoever reads it, and Python code with them does not run), and
no link to somewhere on one engineer's machine."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)
SKIP = {".git", ".venv", ".ci", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


TEXT = {".py", ".md", ".yaml", ".yml", ".toml", ".j2", ".txt", ".cfg", ""}


def project_files() -> list[Path]:
    found = []
    for top, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.endswith(".egg-info")]
        found += [Path(top, n) for n in names if Path(n).suffix in TEXT]
    found = [p for p in found if not p.is_symlink()]  # links: see the next test
    return found


def test_no_file_holds_merge_conflict_markers() -> None:
    files = project_files()
    assert any(p.name == "README.md" for p in files)  # the walk sees the project
    marked = [
        str(p.relative_to(ROOT))
        for p in files
        if MARKER.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert marked == []


def test_no_link_in_the_project_points_outside_it() -> None:
    """A link to somewhere on one engineer's machine dangles everywhere else; one named .venv
    once made the quickstart's `python3 -m venv .venv` fail on a fresh clone."""
    outside = []
    for top, dirs, names in os.walk(ROOT):
        for name in dirs + names:  # looked at before pruning: a linked .venv counts too
            path = Path(top, name)
            if path.is_symlink() and ROOT not in path.resolve().parents:
                outside.append(str(path.relative_to(ROOT)))
        dirs[:] = [d for d in dirs if d not in SKIP and not d.endswith(".egg-info")]
    assert outside == []
