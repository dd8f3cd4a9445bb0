"""The PoPs' daemons on each edge host: the anycast responder (an agent)
and ExaBGP with its API process, plus the client that commands a running
speaker (withdraw, announce, status). Their config text is ``config.exabgp``."""
from __future__ import annotations

from typing import Any

from ..config import exabgp
from ..model.addressing import edge_host_name
from ..model.settings import Health
from .base import LabBase
from .ipc import JsonLineClient
from .spawn import spawn_agent


class SpeakerClient(JsonLineClient):
    """Commands to one PoP's API process (withdraw/announce/status)."""

    what = "the speaker"
    fix = "is the lab up and ExaBGP running on that PoP?"

    def withdraw(self, what: str) -> dict[str, Any]:
        return self.request({"op": "withdraw", "what": what})

    def announce(self, what: str) -> dict[str, Any]:
        return self.request({"op": "announce", "what": what})

    def status(self) -> dict[str, Any]:
        return self.request({"op": "status"})


class Pops:
    """Start, stop and command the daemons of every PoP of a lab."""

    def __init__(self, lab: LabBase, health: Health = Health()) -> None:
        self.lab, self.health = lab, health

    def start(self) -> None:
        """On every edge host: the anycast responder, then ExaBGP."""
        from concurrent.futures import ThreadPoolExecutor

        pops = list(self.lab.topo.cdn.cities)
        self.lab.progress("starting PoPs", 0, len(pops))

        def one(pop: str) -> None:  # each waits for its responder: wait in parallel
            self.start_responder(pop)
            self.start_speaker(pop)

        with ThreadPoolExecutor(8) as pool:
            for i, _ in enumerate(pool.map(one, pops)):
                self.lab.progress("starting PoPs", i + 1, len(pops))

    def start_responder(self, pop: str) -> None:
        """Start (or restart) the UDP responder of a PoP; wait until it is bound."""
        lab = self.lab
        assert lab.record is not None
        host = edge_host_name(pop)
        d = lab.record.node_dir(host)
        ready = d / "responder.ready"
        p = spawn_agent("responder", "responder",
                        ["--pop", pop, "--ready", ready.name, *exabgp.service_addresses(lab.plan, pop)],
                        log=d / "responder.out", record=lab.record.add_daemon, node=host,
                        popen=lab.mn[host].popen, ready=ready,  # type: ignore[attr-defined]
                        what=f"the responder on {host}", cwd=str(d))
        lab.procs[f"responder:{host}"] = p

    def stop_responder(self, pop: str) -> None:
        """Kill a PoP's responder (its health check will then withdraw the PoP)."""
        self.lab.stop_daemon("responder", edge_host_name(pop))

    def start_speaker(self, pop: str) -> None:
        lab = self.lab
        assert lab.record is not None
        host = edge_host_name(pop)
        dns = lab.dns_settings is not None and lab.dns_settings.server == "anycast"
        conf = exabgp.write_speaker_files(lab.topo, lab.plan, pop, lab.record.node_dir(host), self.health, dns)
        lab.spawn("exabgp", host, [exabgp.exabgp_binary(), conf.name], env=exabgp.exabgp_env())

    def speaker(self, pop: str) -> SpeakerClient:
        assert self.lab.record is not None
        return SpeakerClient(self.lab.record.folder / edge_host_name(pop) / "speaker.sock")
