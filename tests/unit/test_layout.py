"""The layout's rules, read from the code's own imports (docs/architecture.md):
data flows one way through the layers, re-analysis needs no lab, nothing
imports the CLI, no module reaches into another's private names, modules
stay small enough to read."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "anycastlab"
# what each layer may import, besides itself and anycastlab.errors
ALLOWED = {
    "model": set(),
    "config": {"model"},
    "agents": {"model"},
    "lab": {"model", "config"},
    "analysis": {"model"},
    "report": {"model", "analysis"},
    "measure": {"model", "config", "lab", "analysis", "report"},
    "live": {"model", "lab", "measure", "analysis", "report"},
    "sim": {"model", "analysis", "report"},
    "cli": {"model", "config", "lab", "agents", "measure", "analysis", "report", "live", "sim"},
}
MAX_LINES = 450  # "roughly 100-400"; past this a module wants splitting


def modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def dotted(path: Path) -> list[str]:
    return list(path.relative_to(PKG.parent).with_suffix("").parts)


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, names) of every import, lazy ones included."""
    me = dotted(path)
    if me[-1] == "__init__":
        me = me[:-1] + ["__init__"]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = me[:-node.level] + ([node.module] if node.module else [])
                mod = ".".join(base)
            else:
                mod = node.module or ""
            if mod.startswith("anycastlab"):
                names = [a.name for a in node.names]
                # 'from . import x' imports module x
                subs = [f"{mod}.{n}" for n in names if (PKG.parent / (mod + "." + n).replace(".", "/")).with_suffix(".py").exists()]
                out.append((node.lineno, mod, names))
                out.extend((node.lineno, s, []) for s in subs)
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, []) for a in node.names if a.name.startswith("anycastlab"))
    return out


def layer(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_imports_follow_the_layers(path: Path) -> None:
    here = layer(".".join(dotted(path)))
    allowed = ALLOWED.get(here, set()) | {here, "errors", ""}
    bad = [f"line {ln}: {mod}" for ln, mod, _ in imports(path) if layer(mod) not in allowed]
    assert not bad, f"{path.relative_to(PKG)} ({here}) may import {sorted(allowed - {''})}, not: {bad}"


def test_reanalysis_needs_no_lab() -> None:
    """report/ (report, compare, index) imports nothing from lab, agents, measure, config."""
    for path in (PKG / "report").rglob("*.py"):
        assert not [m for _, m, _ in imports(path) if layer(m) in ("lab", "agents", "measure", "config")]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_private_names_across_modules(path: Path) -> None:
    me = ".".join(dotted(path))
    bad = [f"line {ln}: {n} from {mod}" for ln, mod, names in imports(path) for n in names
           if n.startswith("_") and not n.startswith("__") and mod != me]
    assert not bad, bad


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_modules_stay_readable(path: Path) -> None:
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PKG)} has {n} lines; split it along what it does"
