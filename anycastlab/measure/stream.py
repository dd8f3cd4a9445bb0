"""The runner's handle on the probe stream (``agents/stream.py``): start it
with every client's namespace, G, P_k, U_p and optionally DNS, stop it and
collect its counts."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from ..errors import LabError
from ..lab.record import cpu_seconds
from ..lab.spawn import spawn_agent
from ..model.addressing import client_host_name
from ..model.settings import NAMES
from .rounds import targets


class Stream:
    """The runner's handle on a running stream process (recorded in the lab's run)."""

    def __init__(self, lab: Any, out: Path, interval: float, timeout: float,
                 clients: list[str] | None = None, max_s: float = 3600, *,
                 dns: Any = None, measure: bool = True, tag: str = "stream") -> None:
        """``dns`` (DnsSettings): clients resolve the steering names and probe
        their answers (``dns.csv`` beside ``out``); ``measure``: also probe
        every P_k and U_p by address (the CDN's measurements); ``tag``: the
        name of its files in the run folder (two streams may run at once,
        e.g. a timeline's and the live view's)."""
        assert lab.record is not None
        names = clients or [a.id for a in lab.topo.clients()]
        folder = lab.record.folder
        self.ready = folder / f"{tag}.ready"
        self.ready.unlink(missing_ok=True)
        tgs: list[dict[str, str]] = targets(lab.plan) if measure else []
        if dns is not None:  # IPA's probes go where the client's answer points
            tgs = tgs + [{"name": "ipa"}]
        spec = {"clients": {c: lab.netns_pid(client_host_name(c)) for c in names},
                "targets": tgs, "interval": interval, "timeout": timeout,
                "out": str(out.resolve()), "max_s": max_s, "ready": str(self.ready)}
        self.dns_out = out.resolve().parent / "dns.csv" if dns is not None else None
        if dns is not None:
            spec["dns"] = {"server": lab.plan.services.dns_server(dns.server),
                           "names": {"ipa": NAMES["ipa"]}, "resolvers": dns.resolvers,
                           "spread_s": dns.ttl_s,  # first queries spread over one TTL (resolver.start)
                           "timeout": dns.timeout_s, "prefetch": dns.prefetch_s,
                           "seed": getattr(lab, "seed", None), "out": str(self.dns_out)}
        (folder / f"{tag}.json").write_text(json.dumps(spec, indent=1))
        self.log = folder / f"{tag}.out"
        self.log.unlink(missing_ok=True)
        self.proc = spawn_agent(tag, "stream", [str(folder / f"{tag}.json")], log=self.log,
                                record=lab.record.add_daemon, ready=self.ready,
                                what="the probe stream", stdin=subprocess.PIPE)
        self.t_start = float(self.ready.read_text())

    def stop(self, timeout: float) -> dict[str, int]:
        """Stop sending, let pending probes answer or expire; return the counts."""
        assert self.proc.stdin is not None
        self.cpu_s = cpu_seconds(self.proc.pid)  # while it still runs: its CPU for the bench
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise LabError("the probe stream did not stop", file=self.log) from None
        text = self.log.read_text().strip().splitlines()
        if self.proc.returncode != 0 or not text:
            raise LabError(f"the probe stream failed (exit {self.proc.returncode})", file=self.log,
                           fix="see that log")
        return json.loads(text[-1])
