"""The routed paths of the CDN's traffic, read from the lab's FIBs.

The load model (model/load.py) needs, for every client network and every
service prefix (global and each provider's), the link directions a request
crosses to the PoP that BGP picks and those the answer crosses back (from
that PoP's edge with the service address as source, as the kernel routes
it: the PoPs' return tables included). Nothing is predicted: each hop is the
kernel's own ``ip route get`` in the node's namespace. The walks advance in
lockstep, one ``ip -batch`` per node per step, so a world-sized lab costs a
few dozen commands, not one per hop.
"""
from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..model.addressing import client_host_name, edge_host_name
from ..model.load import Hop

MAX_HOPS = 40


@dataclass
class Walk:
    start: str
    dst: str
    src: Optional[str] = None   # set: looked up as a forwarded packet of that source
    node: str = ""
    iif: Optional[str] = None
    hops: list[Hop] = field(default_factory=list)
    done: bool = False          # reached a node where dst is local
    failed: bool = False        # no route (a cut, a withdrawn prefix)

    def __post_init__(self) -> None:
        self.node = self.start

    def query(self) -> str:
        q = f"route get {self.dst}"
        if self.src:
            q += f" from {self.src}" + (f" iif {self.iif}" if self.iif else "")
        return q

    def key(self) -> tuple[str, Optional[str], Optional[str]]:
        return (self.dst, self.src, self.iif if self.src else None)


def parse_answer(line: str) -> tuple[tuple[str, Optional[str], Optional[str]], str, Optional[str]]:
    """One line of ``ip -o route get``: ((dst, from, iif), type, dev)."""
    t = line.replace("\\", " ").split()
    kind = "unicast"
    if t and t[0] in ("local", "broadcast", "unreachable", "prohibit", "blackhole"):
        kind, t = t[0], t[1:]

    def after(word: str) -> Optional[str]:
        return t[t.index(word) + 1] if word in t[:-1] else None

    src = after("from")
    return (t[0] if t else "", src, after("iif") if src else None), kind, after("dev")


def _batch(lab: Any, node: str, queries: list[str], folder: Path) -> list[str]:
    f = folder / f"route-get-{node}.batch"
    f.write_text("\n".join(queries) + "\n")
    res = lab.exec(node, ["ip", "-force", "-o", "-batch", str(f)])
    return res.stdout.splitlines()


def walk_all(lab: Any, walks: list[Walk], workers: int = 4) -> list[Walk]:
    """Advance every walk hop by hop until it arrives or fails."""
    folder = Path(lab.record.folder) if getattr(lab, "record", None) else Path(tempfile.gettempdir())
    names = {n: {i.name: i for i in lab.plan.nodes[n].interfaces} for n in lab.plan.nodes}
    with ThreadPoolExecutor(workers) as pool:
        for _ in range(MAX_HOPS):
            live = [w for w in walks if not (w.done or w.failed)]
            if not live:
                break
            by_node: dict[str, list[Walk]] = {}
            for w in live:
                by_node.setdefault(w.node, []).append(w)
            nodes = list(by_node)
            outs = pool.map(lambda n: _batch(lab, n, sorted({w.query() for w in by_node[n]}), folder),
                            nodes)
            for n, lines in zip(nodes, outs):
                answers = {}
                for line in lines:
                    key, kind, dev = parse_answer(line)
                    answers[key] = (kind, dev)
                for w in by_node[n]:
                    kind, dev = answers.get(w.key(), ("unreachable", None))
                    if kind == "local":
                        w.done = True
                    elif kind != "unicast" or dev not in names[n]:
                        w.failed = True
                    else:
                        intf = names[n][dev]
                        w.hops.append((n, intf.peer_node))
                        w.iif = lab.plan.interface(intf.peer_node, n).name
                        w.node = intf.peer_node
    for w in walks:
        if not w.done:
            w.failed = True
    return walks


def service_paths(lab: Any, clients: list[str], targets: dict[str, str]
                  ) -> dict[tuple[str, str], tuple[list[Hop], list[Hop]]]:
    """(client, target) -> (request hops, answer hops) for every service
    address in ``targets`` (target name -> address) that the client reaches.
    The answer leaves the PoP's edge host the request arrived at."""
    fwd = {(c, t): Walk(client_host_name(c), a) for c in clients for t, a in targets.items()}
    walk_all(lab, list(fwd.values()))
    back: dict[tuple[str, str], Walk] = {}
    for (c, t), w in fwd.items():
        if w.done and w.node.startswith(edge_host_name("")):
            host = client_host_name(c)
            back[(c, t)] = Walk(w.node, lab.plan.nodes[host].interfaces[0].ip, src=targets[t])
    walk_all(lab, list(back.values()))
    return {k: (fwd[k].hops, w.hops) for k, w in back.items() if w.done}
