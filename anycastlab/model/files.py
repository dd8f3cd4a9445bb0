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


# Top-level keys that only one kind of file has (a misspelt one still counts:
# 'topolgy' makes a scenario, not a topology missing its cities).
KIND_KEYS = {
    "topology": {"cities", "ases", "relationships", "settings"},
    "scenario": {"topology", "probes", "steering", "dns", "schemes", "timeline", "plot_clients", "seed",
                 "variability"},
    "report": {"schema_version", "phases", "probe_stats", "lab_run", "providers", "pops", "health"},
}
WHAT = {"topology": "a topology", "scenario": "a scenario", "report": "a run's report.json"}


def guess_kind(data: object) -> Optional[str]:
    """Which kind of file parsed YAML/JSON looks like, by its top-level keys; None: no idea."""
    import difflib

    if not isinstance(data, dict):
        return None
    keys = [str(k) for k in data]
    score = {kind: sum(1 for k in keys if k in names or difflib.get_close_matches(k, names, n=1, cutoff=0.8))
             for kind, names in KIND_KEYS.items()}
    best = max(score, key=lambda k: score[k])
    return best if score[best] > 0 and list(score.values()).count(score[best]) == 1 else None


def wrong_kind(data: object, want: str) -> Optional[tuple[str, str]]:
    """(message, fix) when a file given as ``want`` is clearly another kind of file."""
    kind = guess_kind(data)
    if kind is None or kind == want:
        return None
    fixes = {
        "scenario": "run it with 'anycastlab scenario FILE', or give the topology it names "
                    f"(topology: {data.get('topology', '?')})" if isinstance(data, dict) else "",
        "topology": "check or bring it up with 'anycastlab check FILE' / 'anycastlab up FILE'; a scenario "
                    "names a topology and says what happens on it (docs/scenarios.md)",
        "report": "read a finished run with 'anycastlab report RUN_DIR' or 'anycastlab compare RUN_A RUN_B'",
    }
    return f"this is {WHAT[kind]}, not {WHAT[want]}", fixes[kind]
