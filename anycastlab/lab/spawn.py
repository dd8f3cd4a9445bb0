"""Start an agent (``python -m anycastlab.agents.X``) and wait for its ready
file: the one way the lab launches its own programs, so each is recorded in
the run before anything relies on it and a failed start names its log."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Optional

from ..errors import LabError
from .record import ProcEntry

REPO = Path(__file__).resolve().parents[2]  # agents import anycastlab from here, whatever the cwd


def agent_argv(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"anycastlab.agents.{module}", *args]


def agent_env(extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **(extra or {})}


def wait_until_ready(ready: Callable[[], bool], proc: Optional[subprocess.Popen], what: str,
                     log: Path, timeout: float = 60.0, fix: str = "see that log") -> None:
    """Poll ``ready()`` until it holds; a process that exits first, or the
    deadline, raises LabError naming the log (and its last lines). The
    deadline only matters when something is wrong: a ready file appears in
    well under a second, but a machine busy converging a thousand BIRDs can
    take tens of seconds to start a Python agent."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace").strip()[-400:] if log.exists() else ""
            raise LabError(f"{what} exited (code {proc.returncode}) before it was ready"
                           + (f": {tail}" if tail else ""), file=log, fix=fix)
        if time.monotonic() > deadline:
            raise LabError(f"{what} did not become ready within {timeout:.0f} s", file=log, fix=fix)
        time.sleep(0.02)


def spawn_process(kind: str, cmd: list[str], *, log: Path, record: Callable[[ProcEntry], None],
                  node: Optional[str] = None, popen: Callable[..., subprocess.Popen] = subprocess.Popen,
                  ready: Optional[Path] = None, timeout: float = 60.0, what: str = "",
                  fix: str = "see that log", stdin: Any = subprocess.DEVNULL,
                  **popen_kw: Any) -> subprocess.Popen:
    """Start ``cmd`` with ``popen`` (``subprocess.Popen`` in the root namespace,
    a Mininet node's ``popen`` inside a node), output to ``log``, recorded
    with ``record`` at once; then, if ``ready`` is given, wait for that file
    (a stale one is removed first)."""
    if ready is not None:
        ready.unlink(missing_ok=True)
    out: IO[bytes]
    with open(log, "ab") as out:
        p = popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=stdin, env=agent_env(), **popen_kw)
    record(ProcEntry.of(kind, p.pid, node, cmd))
    if ready is not None:
        try:
            wait_until_ready(ready.exists, p, what or f"the {kind}" + (f" on {node}" if node else ""),
                             log, timeout, fix)
        except LabError:
            p.kill()
            raise
    return p


def spawn_agent(kind: str, module: str, args: list[str], **kw: Any) -> subprocess.Popen:
    """``spawn_process`` for agent ``module`` (``python -m anycastlab.agents.<module>``)."""
    return spawn_process(kind, agent_argv(module, *args), **kw)
