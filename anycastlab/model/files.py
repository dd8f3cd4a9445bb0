"""Where a name on the command line or in a scenario file points: a path
as given, or a bare name looked up as ``<folder>/<name>.yaml`` in the
current folder and then in the project (so ``check cable-cut`` and
``scenario cable-cut`` work from anywhere)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

PROJECT = Path(__file__).resolve().parents[2]
FOLDERS = {"topology": "topologies", "scenario": "scenarios"}
Kind = Literal["topology", "scenario"]


def resolve_named(ref: str, kind: Kind, near: Optional[Path] = None) -> Path:
    """The file ``ref`` means. A bare name is looked up beside ``near``'s
    project first (a scenario's topology), then in the cwd, then in the
    project; not found, it comes back unchanged for the loader to report."""
    p = Path(ref)
    if p.exists() or p.suffix or "/" in ref:
        return p
    bases = ([near.resolve().parent.parent] if near is not None else []) + [Path.cwd(), PROJECT]
    for base in bases:
        cand = base / FOLDERS[kind] / f"{ref}.yaml"
        if cand.exists():
            return cand
    return p
