"""Link delay backends and the link-control API.

Latency is one-way, per direction: each interface delays what *leaves* it,
so a packet crossing a link is delayed exactly once per direction and the
RTT is twice the one-way figure (unlike Mininet's TCLink, which would put
the delay on both ends of a single direction's path).

Backends:
  netem      tc qdisc netem on every interface (kernel has sch_netem)
  userspace  iptables NFQUEUE in each node's namespace + one shaper
             process (anycastlab.agents.shaper) that holds each packet until due
  auto       netem if the kernel has it, else userspace (probed once, in a
             throw-away namespace so nothing on the host is touched)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Protocol

from ..errors import EnvironmentProblem, LabError, ShaperError
from .ipc import JsonLineClient
from .record import ProcEntry
from .spawn import spawn_agent, spawn_process

if TYPE_CHECKING:
    from ..model.addressing import Interface
    from ..model.variability import Variability

BACKENDS = ("auto", "netem", "userspace")
HEALTH_FILE = "shaper.health.csv"  # in the run folder: the engine's lateness, one row a second
ENGINE_BINARY = "anycastlab-linkd"  # built by 'make setup' next to the venv's python


def native_engine() -> Optional[str]:
    """The native link engine's path, or None: not built, or ANYCASTLAB_ENGINE=python."""
    if os.environ.get("ANYCASTLAB_ENGINE", "native") == "python":
        return None
    cand = Path(sys.executable).parent / ENGINE_BINARY
    return str(cand) if os.access(cand, os.X_OK) else None
_probe_cache: dict[str, bool] = {}


def kernel_has_netem() -> bool:
    """Try a netem qdisc on loopback inside a private namespace that dies at once."""
    if "netem" not in _probe_cache:
        if not shutil.which("unshare") or not shutil.which("tc"):
            _probe_cache["netem"] = False
        else:
            res = subprocess.run(["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root",
                                  "netem", "delay", "1ms"], capture_output=True, timeout=10)
            _probe_cache["netem"] = res.returncode == 0
    return _probe_cache["netem"]


def choose_backend(requested: str) -> str:
    if requested not in BACKENDS:
        raise LabError(f"unknown link backend '{requested}'", key="--links",
                       fix=f"use one of: {', '.join(BACKENDS)}")
    if requested == "auto":
        return "netem" if kernel_has_netem() else "userspace"
    if requested == "netem" and not kernel_has_netem():
        raise EnvironmentProblem("this kernel has no sch_netem (tc netem)",
                                 fix="use '--links userspace' (or 'auto')")
    return requested


class NodeRunner(Protocol):
    """What a backend needs from a node: run a command in its namespace."""

    def run(self, node: str, argv: list[str], check: bool = True) -> str: ...


class LinkBackend:
    name = "base"
    engine = "kernel"          # what applies the delay: kernel (netem), native or python
    scheduling = "kernel"      # the engine's CPU scheduling class, as it reported it
    seed = 1                   # of the lines' variability processes (model/variability.py)

    def __init__(self, runner: NodeRunner) -> None:
        self.runner = runner

    def start(self, intfs: list["Interface"], folder: Path,
              netns_pid: Callable[[str], int], record: Callable[[ProcEntry], None]) -> None:
        raise NotImplementedError

    def set_delay(self, intf: "Interface", ms: float) -> None:
        raise NotImplementedError

    def set_variability(self, intf: "Interface", v: "Variability") -> None:
        raise NotImplementedError

    def set_load(self, intf: "Interface", ms: float, loss: float) -> None:
        """The load model's queueing delay and loss on one line (model/load.py)."""
        raise NotImplementedError

    def attach(self, folder: Path) -> None:
        """Control a running lab's links from another process."""

    def stop(self) -> None:
        """Release backend processes; per-node state dies with the namespaces."""


class NetemBackend(LinkBackend):
    name = "netem"

    def __init__(self, runner: NodeRunner) -> None:
        super().__init__(runner)
        self.vary: dict[str, "Variability"] = {}  # per interface; an attached lab starts empty
        self.delay: dict[str, float] = {}         # the one-way delay last set, without queueing
        self.load: dict[str, tuple[float, float]] = {}  # the load model's (ms, loss) per interface

    def start(self, intfs, folder, netns_pid, record):  # type: ignore[no-untyped-def]
        self.vary = {i.name: i.vary for i in intfs if i.vary is not None}
        for intf in intfs:
            self.set_delay(intf, intf.latency_ms, verb="add")

    def set_variability(self, intf, v):  # type: ignore[no-untyped-def]
        self.vary[intf.name] = v
        self.set_delay(intf, self.delay.get(intf.name, intf.latency_ms))

    def set_load(self, intf, ms, loss):  # type: ignore[no-untyped-def]
        self.load[intf.name] = (ms, loss)
        self.set_delay(intf, self.delay.get(intf.name, intf.latency_ms))

    def set_delay(self, intf, ms, verb: str = "change"):  # type: ignore[no-untyped-def]
        """netem's own jitter stands in for the variability model: the mean queueing
        delay is added, its standard deviation becomes netem's (normal) jitter;
        the load model's delay is added and its loss combined."""
        v = self.vary.get(intf.name)
        load_ms, load_loss = self.load.get(intf.name, (0.0, 0.0))
        loss = 1.0 - (1.0 - (v.loss if v is not None else 0.0)) * (1.0 - load_loss)
        extra = ([f"{v.sd_ms:.3f}ms"] if v is not None else []) + (["loss", f"{loss * 100:.4f}%"]
                                                                  if v is not None or loss > 0 else [])
        self.delay[intf.name] = ms
        ms = ms + (v.mean_ms if v is not None else 0.0) + load_ms
        self.runner.run(intf.node, ["tc", "qdisc", verb, "dev", intf.name, "root", "netem",
                                    "delay", f"{ms:.3f}ms", *extra, "limit", "100000"])


class UserspaceBackend(LinkBackend):
    """NFQUEUE + the shaper process: works where the kernel lacks netem."""

    name = "userspace"

    def __init__(self, runner: NodeRunner) -> None:
        super().__init__(runner)
        self.proc: Optional[subprocess.Popen] = None
        self.entry: Optional[ProcEntry] = None
        self.client = None
        self.queues: dict[str, int] = {}

    def start(self, intfs, folder, netns_pid, record):  # type: ignore[no-untyped-def]
        import json

        spec = []
        per_node: dict[str, list[str]] = {}
        for intf in intfs:
            q = int(intf.name.rsplit("-e", 1)[1])
            self.queues[intf.name] = q
            spec.append({"key": intf.name, "netns_pid": netns_pid(intf.node), "queue": q,
                         "delay_ms": intf.latency_ms})
            if intf.vary is not None:
                spec[-1]["vary"] = {**intf.vary.model_dump(), "seed": self.seed}
            per_node.setdefault(intf.node, []).append(" ".join(
                iptables_rule_args(intf.name, q)[3:]))
        spec_path, ctl, ready = folder / "shaper.json", folder / "shaper.sock", folder / "shaper.ready"
        spec_path.write_text(json.dumps({"queues": spec}, indent=1))
        # run in the run folder with relative paths: socket paths must stay short
        args = ["--spec", spec_path.name, "--control", ctl.name, "--ready", ready.name,
                "--health", HEALTH_FILE]
        native = native_engine()
        kw = dict(log=folder / "shaper.log", record=record, ready=ready, timeout=30,
                  start_new_session=True, cwd=folder)
        if native is not None:
            threads = os.environ.get("ANYCASTLAB_ENGINE_THREADS")  # default 1 (docs/lab.md)
            self.proc = spawn_process("shaper", [native, *args, *(["--threads", threads] if threads else [])], what="the native link engine",
                                      fix="rebuild it with 'sudo make setup'", **kw)
            self.engine = "native"
        else:
            self.proc = spawn_agent("shaper", "shaper", args, what="the userspace shaper",
                                    fix="check that NetfilterQueue is installed ('make setup')", **kw)
            self.engine = "python"
        said = ready.read_text().splitlines()  # pid, scheduling class, worker threads
        self.scheduling = said[1] if len(said) > 1 else "SCHED_OTHER"
        if len(said) > 2:
            self.scheduling += f", {said[2]} thread(s)"
        self.entry = ProcEntry.of("shaper", self.proc.pid, None, list(self.proc.args))
        self.client = ShaperClient(str(ctl))
        # the queues have a listener now: only then may packets be queued;
        # one iptables-restore per node, several nodes at a time
        from concurrent.futures import ThreadPoolExecutor

        def one(item: tuple[str, list[str]]) -> None:
            node, rules = item
            (folder / node).mkdir(exist_ok=True)
            rules_file = folder / node / "shaper.rules"
            rules_file.write_text("*mangle\n" + "\n".join(rules) + "\nCOMMIT\n")
            self.runner.run(node, ["iptables-restore", "--noflush", str(rules_file)])

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, per_node.items()))

    def attach(self, folder: Path) -> None:
        self.client = ShaperClient(str(folder / "shaper.sock"))

    def set_delay(self, intf, ms):  # type: ignore[no-untyped-def]
        assert self.client is not None
        self.client.set_delay(intf.name, ms)

    def set_variability(self, intf, v):  # type: ignore[no-untyped-def]
        assert self.client is not None
        self.client.vary(intf.name, self.seed, **v.model_dump())

    def set_load(self, intf, ms, loss):  # type: ignore[no-untyped-def]
        assert self.client is not None
        self.client.request({"op": "load", "key": intf.name, "ms": ms, "loss": loss, "seed": self.seed})

    def stats(self) -> dict:
        assert self.client is not None
        return self.client.stats()

    def stop(self) -> None:
        from .record import stop_process

        if self.entry is not None:
            stop_process(self.entry)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass


def make_backend(name: str, runner: NodeRunner) -> LinkBackend:
    return {"netem": NetemBackend, "userspace": UserspaceBackend}[name](runner)


def iptables_rule_args(ifname: str, queue: int, action: str = "-A", *,
                       bypass: bool = False) -> list[str]:
    """argv for the per-interface NFQUEUE rule (run it inside the node's netns).

    bypass=True adds --queue-bypass: traffic flows undelayed if no shaper is bound,
    instead of being dropped (the default makes a dead shaper loud).
    """
    if action not in ("-A", "-D"):
        raise ValueError(f"action must be '-A' or '-D', not {action!r}")
    if not ifname or len(ifname) > 15 or any(c in ifname for c in " /\t\n"):
        raise ValueError(f"bad interface name {ifname!r}")
    if isinstance(queue, bool) or not isinstance(queue, int) or not 0 <= queue <= 65535:
        raise ValueError(f"queue must be an int in 0..65535, not {queue!r}")
    argv = ["iptables", "-t", "mangle", action, "POSTROUTING", "-o", ifname,
            "-j", "NFQUEUE", "--queue-num", str(queue)]
    return argv + ["--queue-bypass"] if bypass else argv


# ---------------------------------------------------------------- client
class ShaperClient(JsonLineClient):
    """Control of the link engine (delay, down/up, stats), one request per connection."""

    what = "shaper"
    error = ShaperError

    def ping(self) -> None:
        self.request({"op": "ping"})

    def set_delay(self, key: str, ms: float) -> None:
        self.request({"op": "set", "key": key, "delay_ms": ms})

    def set_down(self, key: str, down: bool) -> None:
        self.request({"op": "down" if down else "up", "key": key})

    def add(self, key: str, netns_pid: int, queue: int, delay_ms: float) -> None:
        self.request({"op": "add", "key": key, "netns_pid": netns_pid, "queue": queue,
                      "delay_ms": delay_ms})

    def stats(self, kernel: bool = False) -> dict[str, dict]:
        return self.request({"op": "stats", "kernel": kernel})["queues"]

    def vary(self, key: str, seed: int, **fields: float) -> None:
        """Set (restart) a line's queueing delay and loss (model/variability.py)."""
        self.request({"op": "vary", "key": key, "seed": seed, **fields})

    def trace(self, key: str, n: int) -> list[float]:
        """The first n grid values (steps of max(1 ms, tau/20)) of a line's queueing delay, as the engine computes them."""
        return self.request({"op": "trace", "key": key, "n": n})["queue_ms"]
