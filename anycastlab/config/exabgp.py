"""ExaBGP speakers at the PoPs: what each announces and its config (checked by
``exabgp validate``); ``lab/pops.py`` runs and commands them.

Each PoP has an edge host behind its border router running ExaBGP (config
from ``speakers/exabgp.conf.j2``) with an API process (``speakers/api.py``)
that announces the PoP's service prefixes, health-checks the local anycast
responder and takes commands from the Lab over a Unix socket.

Export tags: every announcement carries the large community
``(CDN ASN, 100, ASN of a neighbour)`` for each neighbour AS it may be
exported to; the border router's filters honour exactly those tags.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import EnvironmentProblem, LabError
from ..model.addressing import AddressPlan, edge_host_name
from ..model.settings import DNS_PORT
from ..model.settings import RESPONDER_PORT as PORT
from ..model.settings import Health
from ..model.topology import Topology
from .bird import EXPORT_TO
from .render import SPEAKER_TEMPLATES, render_template

API_SCRIPT = SPEAKER_TEMPLATES / "api.py"


def export_communities(topo: Topology, providers: list[str]) -> list[str]:
    cdn = topo.cdn.asn
    return [f"{cdn}:{EXPORT_TO}:{topo.ases[k].asn}" for k in providers]


def speaker_plan(topo: Topology, plan: AddressPlan, pop: str, health: Health = Health(),
                 dns: bool = False) -> dict[str, Any]:
    """The content of speaker.json: announcements with tags, health check;
    ``dns``: this PoP runs the anycast DNS server, which the speaker checks
    before announcing the DNS prefix (never announced otherwise)."""
    anns = {name: {"prefix": prefix, "to": provs,
                   "communities": export_communities(topo, provs)}
            for name, (prefix, provs) in plan.services.pop_announcements(pop).items()}
    out: dict[str, Any] = {
        "pop": pop, "announcements": anns,
        "health": {**asdict(health), "target": plan.services.address(plan.services.global_prefix),
                   "port": PORT}}
    if dns:
        out["dns_health"] = {"target": plan.services.dns_server("anycast"), "port": DNS_PORT}
    return out


def service_addresses(plan: AddressPlan, pop: str) -> list[str]:
    """Addresses on the edge host's loopback: G.1, P_k.1 of its providers, U_p.1."""
    return [plan.services.address(p) for p, _ in plan.services.pop_announcements(pop).values()]


def speaker_context(topo: Topology, plan: AddressPlan, pop: str, *, python: str,
                    api_script: str, workdir: str) -> dict[str, Any]:
    host = plan.nodes[edge_host_name(pop)]
    lan = host.interfaces[0]
    return {"pop": pop, "city_name": topo.cities[pop].name, "host": host.name,
            "topology": topo.name, "python": python, "api_script": api_script, "workdir": workdir,
            "neighbor": lan.peer_ip, "router": lan.peer_node, "router_id": lan.ip,
            "local": lan.ip, "asn": topo.cdn.asn}


def render_speaker(topo: Topology, plan: AddressPlan, pop: str, workdir: Path) -> str:
    """ExaBGP splits its ``run`` line on spaces (and starts the process in a
    folder of its own), so the paths there must be absolute and space-free."""
    for path in (sys.executable, str(API_SCRIPT), str(workdir)):
        if any(c.isspace() for c in path):
            raise EnvironmentProblem(f"ExaBGP cannot use a path with spaces: {path}",
                                     fix="use a checkout folder and --runs-dir without spaces")
    return render_template("exabgp.conf.j2", speaker_context(
        topo, plan, pop, python=sys.executable, api_script=str(API_SCRIPT),
        workdir=str(workdir.resolve())))


def exabgp_binary() -> str:
    cand = Path(sys.executable).parent / "exabgp"
    path = str(cand) if cand.exists() else shutil.which("exabgp")
    if not path:
        raise EnvironmentProblem("ExaBGP is not installed",
                                 fix="run 'make setup' (installs the pinned exabgp into .venv)")
    return path


def exabgp_env() -> dict[str, str]:
    """ExaBGP settings for a speaker inside a lab namespace."""
    return {"exabgp.daemon.user": "root", "exabgp.daemon.drop": "false",
            "exabgp.daemon.daemonize": "false", "exabgp.api.cli": "false",
            "exabgp.api.ack": "false", "exabgp.log.destination": "stdout",
            "exabgp.tcp.bind": "", "exabgp.api.respawn": "true"}


def validate_config(path: Path) -> None:
    """Run ExaBGP's own validation on a rendered config."""
    res = subprocess.run([exabgp_binary(), "validate", "-nr", str(path)], capture_output=True,
                         text=True, timeout=60)
    if res.returncode != 0:
        raise LabError(f"ExaBGP rejected the rendered config: {(res.stdout + res.stderr)[-600:]}",
                       file=path, fix="this is a bug in speakers/exabgp.conf.j2; please report it")


def write_speaker_files(topo: Topology, plan: AddressPlan, pop: str, workdir: Path,
                        health: Health = Health(), dns: bool = False) -> Path:
    """exabgp.conf and speaker.json into the edge host's folder; returns the conf path."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "speaker.json").write_text(json.dumps(speaker_plan(topo, plan, pop, health, dns), indent=2))
    conf = workdir / "exabgp.conf"
    conf.write_text(render_speaker(topo, plan, pop, workdir))
    return conf
