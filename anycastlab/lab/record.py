"""The run folder and its record, ``lab.json``.

The Lab writes down everything it creates (node shells, namespaces,
daemons, interfaces) *before* relying on it, so that a run that was killed
or crashed can be cleaned from the record alone. Processes are identified
by PID plus their kernel start time, so a recycled PID is never killed.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Optional

DEFAULT_RUNS_DIR = Path(os.environ.get("ANYCASTLAB_RUNS", "runs"))


def _stat(pid: int) -> Optional[list[str]]:
    """The fields of /proc/<pid>/stat after the command name, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    # the command name may contain spaces and parens: split after the last ')'
    return data[data.rindex(")") + 2:].split()


def proc_starttime(pid: int) -> Optional[int]:
    """Kernel start time (clock ticks since boot) of a live process, else None."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU time a live process has used, from /proc, else None."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else None


def cpu_by_kind(entries: "list[ProcEntry]") -> dict[str, float]:
    """CPU seconds so far of the recorded daemons still alive, summed per kind."""
    out: dict[str, float] = {}
    for e in entries:
        s = cpu_seconds(e.pid) if e.alive() else None
        if s is not None:
            out[e.name] = out.get(e.name, 0.0) + s
    return out


def netns_inode(pid: int) -> Optional[int]:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def same_process(pid: int, starttime: Optional[int]) -> bool:
    return starttime is not None and proc_starttime(pid) == starttime


@dataclass
class ProcEntry:
    """A process the lab started: enough to find it again, and only it."""

    name: str
    pid: int
    starttime: Optional[int]
    node: Optional[str] = None
    cmd: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, pid: int, node: Optional[str] = None,
           cmd: Iterable[str] = ()) -> "ProcEntry":
        return cls(name, pid, proc_starttime(pid), node, list(cmd))

    def alive(self) -> bool:
        """Still running (a zombie waiting for its parent to reap it is not)."""
        return same_process(self.pid, self.starttime) and not _is_zombie(self.pid)


DAEMON_LOG = "daemons.jsonl"
NODE_LOG = "nodes.jsonl"


def merged_nodes(folder: Path, saved: dict[str, Any]) -> dict[str, Any]:
    """lab.json's nodes plus those only in ``nodes.jsonl`` (a line cut short
    by a kill is skipped)."""
    out = dict(saved)
    try:
        lines = (folder / NODE_LOG).read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            name, entry = json.loads(line)
        except (ValueError, TypeError):
            continue
        if isinstance(name, str) and isinstance(entry, dict):
            out.setdefault(name, entry)
    return out


def merged_daemons(folder: Path, saved: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """lab.json's daemons plus those only in ``daemons.jsonl`` (recorded since
    the last save); a line cut short by a kill is skipped."""
    out = list(saved)
    seen = {(d.get("name"), d.get("pid")) for d in out if isinstance(d, dict)}
    try:
        lines = (folder / DAEMON_LOG).read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if isinstance(d, dict) and (d.get("name"), d.get("pid")) not in seen:
            seen.add((d.get("name"), d.get("pid")))
            out.append(d)
    return out


class RunRecord:
    """A run folder ``runs/<id>/`` and its ``lab.json``."""

    def __init__(self, folder: Path, data: dict[str, Any]) -> None:
        self.folder = folder
        self.data = data
        self.lock = threading.RLock()  # services start daemons from several threads

    @classmethod
    def create(cls, runs_dir: Path, topology: str) -> "RunRecord":
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{topology}-{secrets.token_hex(2)}"
        folder = (runs_dir / run_id).resolve()
        folder.mkdir(parents=True)
        rec = cls(folder, {"id": run_id, "topology": topology, "status": "starting",
                           "owner_pid": os.getpid(), "owner_starttime": proc_starttime(os.getpid()),
                           "started": time.time(), "link_backend": None,
                           "nodes": {}, "daemons": []})
        rec.save()
        return rec

    @classmethod
    def load(cls, folder: Path) -> "RunRecord":
        """A run's record; ValueError when lab.json is not one (unreadable, or keys missing)."""
        try:
            data = json.loads((folder / "lab.json").read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"lab.json cannot be read: {e}") from None
        if not isinstance(data, dict):
            raise ValueError("lab.json is not an object")
        for key, kind in (("id", str), ("owner_pid", int)):
            if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
                raise ValueError(f"lab.json has no valid '{key}'")
        data["daemons"] = merged_daemons(folder, data.get("daemons") or [])
        if isinstance(data.get("nodes"), dict):
            data["nodes"] = merged_nodes(folder, data["nodes"])
        return cls(folder, data)

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def save(self) -> None:
        with self.lock:
            tmp = self.folder / "lab.json.tmp"
            tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True))
            tmp.replace(self.folder / "lab.json")

    def node_dir(self, node: str) -> Path:
        d = self.folder / node
        d.mkdir(exist_ok=True)
        return d

    def add_node(self, name: str, entry: dict[str, Any]) -> None:
        """Record a node's shell at once, as ``add_daemon`` records a daemon."""
        with self.lock:
            self.data["nodes"][name] = entry
            with open(self.folder / NODE_LOG, "a") as f:
                f.write(json.dumps([name, entry]) + "\n")

    def add_daemon(self, entry: ProcEntry) -> None:
        """Record a daemon at once: one line appended to ``daemons.jsonl``
        (``load`` merges it), not a rewrite of lab.json per daemon, which
        grows quadratic with a thousand routers."""
        with self.lock:
            self.data["daemons"].append(entry.__dict__)
            with open(self.folder / DAEMON_LOG, "a") as f:
                f.write(json.dumps(entry.__dict__) + "\n")

    def daemons(self) -> list[ProcEntry]:
        return [ProcEntry(**d) for d in self.data["daemons"]]

    def shells(self) -> list[ProcEntry]:
        return [ProcEntry(f"shell:{n}", v["shell_pid"], v.get("shell_starttime"), n)
                for n, v in self.data["nodes"].items() if v.get("shell_pid")]

    def owner_alive(self) -> bool:
        return same_process(self.data["owner_pid"], self.data.get("owner_starttime"))


def list_runs(runs_dir: Path = DEFAULT_RUNS_DIR) -> list[RunRecord]:
    """The run records under runs_dir that can be read (see ``broken_runs`` for the rest)."""
    return [r for r in _scan(runs_dir) if isinstance(r, RunRecord)]


def broken_runs(runs_dir: Path = DEFAULT_RUNS_DIR) -> list[tuple[Path, str]]:
    """Run folders whose lab.json cannot be used, with why: nothing in them is
    removed automatically, since the record is what says what the lab created."""
    return [r for r in _scan(runs_dir) if not isinstance(r, RunRecord)]


def _scan(runs_dir: Path) -> list["RunRecord | tuple[Path, str]"]:
    if not runs_dir.is_dir():
        return []
    out: list[RunRecord | tuple[Path, str]] = []
    for d in sorted(runs_dir.iterdir()):
        if (d / "lab.json").is_file():
            try:
                out.append(RunRecord.load(d))
            except ValueError as e:
                out.append((d, str(e)))
    return out


def find_running(runs_dir: Path = DEFAULT_RUNS_DIR, run_id: Optional[str] = None) -> Optional[RunRecord]:
    """The newest run whose status is 'up' and whose owner still lives."""
    for rec in reversed(list_runs(runs_dir)):
        if run_id and rec.id != run_id:
            continue
        if rec.data.get("status") == "up" and rec.owner_alive():
            return rec
    return None


def stop_process(entry: ProcEntry, timeout: float = 3.0,
                 first: signal.Signals = signal.SIGTERM) -> bool:
    """Signal the recorded process, and only it: SIGTERM (or ``first``), wait,
    then SIGKILL. A pidfd is opened *before* the identity check, so a PID that
    is recycled meanwhile can never receive the signal."""
    return _stop(entry.pid, entry.alive, timeout, first)


def _stop(pid: int, still_ours, timeout: float, first: signal.Signals) -> bool:  # type: ignore[no-untyped-def]
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if not still_ours():
            return False
        for sig in (first, signal.SIGKILL):
            try:
                signal.pidfd_send_signal(fd, sig)
            except ProcessLookupError:
                return True
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                _reap(pid)
                if not still_ours():
                    return True
                time.sleep(0.02)
        return True
    finally:
        os.close(fd)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
        return data[data.rindex(")") + 2] == "Z"
    except OSError:
        return True


def pids_in_netns(inodes: set[int]) -> list[int]:
    """Processes living in one of the given network namespaces."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ino = netns_inode(int(entry))
            if ino is not None and ino in inodes:
                out.append(int(entry))
    return out


def clean_run(rec: RunRecord, by: Optional[str] = None) -> list[str]:
    """Remove what a run created, from its record alone; returns what was done.
    ``by`` is recorded as ``cleaned_by`` in the same write as the status, so a
    reader never sees one without the other.

    Order: recorded daemons, then any other process inside one of the lab's
    namespaces (e.g. a command started with 'anycastlab exec'), then the node
    shells. A namespace counts as the lab's only if a recorded process (PID
    and start time verified) is still inside it when cleaning starts: inode
    numbers of dead namespaces get reused.
    """
    done: list[str] = []
    recorded = {v["netns_inode"] for v in rec.data["nodes"].values() if v.get("netns_inode")}
    ours = {netns_inode(p.pid) for p in [*rec.daemons(), *rec.shells()] if p.alive()}
    ours &= recorded
    for d in rec.daemons():
        if stop_process(d):
            done.append(f"stopped {d.name} (pid {d.pid})")
    shells = {s.pid for s in rec.shells()}

    def sweep() -> None:
        for pid in pids_in_netns(ours) if ours else []:
            if pid in shells:
                continue
            if _stop(pid, lambda p=pid: netns_inode(p) in ours and not _is_zombie(p), 3.0,
                     signal.SIGTERM):
                done.append(f"stopped leftover pid {pid} in a lab namespace")

    sweep()
    for s in rec.shells():
        if stop_process(s, first=signal.SIGHUP):  # as Mininet ends its shells
            done.append(f"stopped node {s.node} (shell pid {s.pid})")
    sweep()
    rec.data["status"] = "cleaned"
    if by is not None:
        rec.data["cleaned_by"] = by
    rec.save()
    return done
