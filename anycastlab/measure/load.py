"""The load model on a running lab: every steering window, the CDN's traffic
(each network's demand by its shares) is laid on the routed paths and each
link direction gets the queueing delay and loss its utilisation gives
(model/load.py), applied by the link engine.

Paths come from the FIBs (measure/paths.py, over netlink) once before the
probes start and again in the two windows after every event that may move
routes (a cut, a PoP or a provider going, a depeering: routes move while
BGP converges); otherwise they stand. A reading is a few thousand route
lookups (0.6-0.75 s on world), which is why it is not repeated every
window. Each application is one entry of the load log, which the report
summarises (analysis/load.py).

The same paths keep IPA's shares under the capacity headroom
(model/headroom.py): ``steer`` applies the rule to ranked shares before they
are applied and published, and logs what it moved. The paths of the last
reading, the CDN's nodes and the headroom log go into report.json, so a run
at rest can be re-analysed with another headroom.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Mapping, Optional

from ..model.headroom import Network, Outcome, Rank, apply_headroom
from ..model.load import Effect, Hop, demand_flows, offered, utilisation_table
from ..model.settings import Load, Steering
from .paths import service_paths

REWALK_WINDOWS = 2   # after an event: walk the paths again in this many applications
READ_TIMEOUT_S = 20.0   # at rest: how long read_paths waits for every expected path


class LoadModel:
    def __init__(self, lab: Any, plan: Load) -> None:
        self.lab, self.plan = lab, plan
        topo = lab.topo
        self.settings = topo.settings.load
        self.demand = {a.id: a.demand_gbps for a in topo.clients()}
        self.providers = list(lab.plan.services.provider_prefixes)
        targets = lab.plan.services.scheme_targets()
        self.targets = {"global": targets["global"],
                        **{k: targets[f"provider:{k}"] for k in self.providers}}
        self.capacity = capacities(lab)
        self.cdn_nodes = frozenset(n for n, node in lab.plan.nodes.items() if node.asid == topo.cdn.id)
        self.paths: dict[tuple[str, str], tuple[list[Hop], list[Hop]]] = {}
        self.rewalk = 1
        self.walked = False   # walked since the last load log entry
        self.log: list[dict[str, Any]] = []
        self.headroom_log: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.t0: Optional[float] = None  # event clock origin (wall), when known

    def read_paths(self, timeout: float = READ_TIMEOUT_S) -> None:
        """Read every path now, before the probes start: the walk's burst of
        route lookups then never overlaps a measurement unless an event
        moved routes.

        Read again until every network reaches every prefix its router must
        learn and hears back (routes may still be arriving on a busy
        machine); after ``timeout`` the pairs still missing are named in
        ``errors`` (and the report): their demand is then on no link."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                self._walk()
                missing = self.missing()
                if not missing or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.rewalk = 0
        if missing:
            self.errors.append(
                f"after {timeout:.0f} s, {len(missing)} client network and prefix pairs still had no "
                f"routed path both ways ({', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}); "
                "their demand is on no link, so the links they use carry less load than modelled")

    def missing(self) -> list[str]:
        """"client>target" pairs the routing should give a path and the last reading did not."""
        out = []
        for c in self.demand:
            want = self.expected(c)
            out += [f"{c}>{k}" for k in self.targets if k in want and (c, k) not in self.paths]
        return out

    def expected(self, client: str) -> set[str]:
        """The targets (global, provider ids) a network's router must learn."""
        names = self.lab.birds.expected_services(client)
        return {k for k in self.targets if (k if k == "global" else f"provider:{k}") in names}

    def _walk(self) -> None:
        self.paths = service_paths(self.lab, list(self.demand), self.targets)

    def _fresh(self) -> None:
        """Walk the paths if an event may have moved them (or none were read)."""
        if self.rewalk > 0 or not self.paths:
            self._walk()
            self.rewalk, self.walked = max(0, self.rewalk - 1), True

    def network(self, walk: bool = True) -> Network:
        """What the headroom rule needs, on the current paths (walked first if
        due, unless ``walk`` is False: the lab may be gone)."""
        with self.lock:
            if walk:
                self._fresh()
            return self._network()

    def _network(self) -> Network:
        return Network(dict(self.demand), dict(self.paths), dict(self.capacity), self.cdn_nodes,
                       self.plan.ipa_fraction, self.settings.upstream_ratio, tuple(self.providers))

    def steer(self, shares: Mapping[str, Mapping[str, float]], ranks: Mapping[str, Rank],
              steering: Steering, label: str = "") -> Outcome:
        """The ranked shares under the capacity headroom: what to apply and publish."""
        with self.lock:
            self._fresh()
            res = apply_headroom(shares, ranks, self._network(), steering)
            self.note_headroom(res.record(shares), label)
            return res

    def note_headroom(self, record: Mapping[str, Any], label: str) -> None:
        """One entry of the headroom log (when some port was over the limit)."""
        if record.get("over"):
            t = time.time()
            self.headroom_log.append({"t_s": round(t - self.t0, 3) if self.t0 is not None else None,
                                      "label": label, **record})

    def event_applied(self) -> None:
        """Routes may move now: walk the paths again in the next applications."""
        with self.lock:
            self.rewalk = REWALK_WINDOWS

    def apply(self, shares: Mapping[str, Mapping[str, float]], label: str = "") -> dict[str, Any]:
        """Lay the demand on the paths by these shares and set every line's effect."""
        with self.lock:
            t_start = time.time()
            self._fresh()
            walked, self.walked = self.walked, False
            flows = demand_flows(self.demand, shares, self.paths, self.plan.ipa_fraction,
                                 self.settings.upstream_ratio, self.providers)
            total = offered((r, h) for r, h, _ in flows)
            by_ipa = offered((r, h) for r, h, s in flows if s == "ipa")
            effects: dict[Hop, Effect] = utilisation_table(total, self.capacity, self.settings)
            changed = self.lab.set_load({h: (round(e.delay_ms, 4), round(e.loss, 5))
                                         for h, e in effects.items() if e.felt})
            t = time.time()
            entry = {"t_s": round(t - self.t0, 3) if self.t0 is not None else None, "label": label,
                     "walked": walked, "lines_changed": changed, "apply_ms": round((t - t_start) * 1e3, 1),
                     "unrouted": sorted(f"{c}>{k}" for c in self.demand for k in self.targets
                                        if (c, k) not in self.paths),
                     "links": {f"{a}>{b}": [round(total[(a, b)], 3), round(by_ipa.get((a, b), 0.0), 3),
                                            round(e.rho, 4), round(e.delay_ms, 4), round(e.loss, 5)]
                               for (a, b), e in effects.items()}}
            self.log.append(entry)
            return entry

    def section(self) -> dict[str, Any]:
        """report.json's ``load``: the inputs and every application."""
        return {"ipa_fraction": self.plan.ipa_fraction, "settings": self.settings.model_dump(),
                "demand_gbps": {c: round(d, 3) for c, d in self.demand.items()},
                "capacity_gbps": {f"{a}>{b}": c for (a, b), c in sorted(self.capacity.items())},
                "fields": ["gbps", "ipa_gbps", "rho", "delay_ms", "loss"],
                "log": self.log, "errors": self.errors, "headroom": self.headroom_log,
                "cdn_nodes": sorted(self.cdn_nodes), "paths": paths_record(self.paths)}


def paths_record(paths: Mapping[tuple[str, str], tuple[list[Hop], list[Hop]]]) -> dict[str, list[list[str]]]:
    """report.json's ``load.paths``: "client>target" -> [request nodes, answer nodes]."""
    def nodes(hops: list[Hop]) -> list[str]:
        return [hops[0][0], *(b for _, b in hops)] if hops else []
    return {f"{c}>{t}": [nodes(f), nodes(r)] for (c, t), (f, r) in sorted(paths.items())}


def capacities(lab: Any) -> dict[Hop, float]:
    """Every link direction's capacity: the topology's links, and the LANs
    (hosts to their routers) at the class default."""
    topo = lab.topo
    by_index = {lk.index: lk for lk in topo.links}
    lan = topo.settings.load.class_capacity("lan")
    out: dict[Hop, float] = {}
    for node in lab.plan.nodes.values():
        for intf in node.interfaces:
            lk = by_index.get(intf.link) if intf.link is not None else None
            out[(intf.node, intf.peer_node)] = lk.capacity_gbps if lk is not None else lan
    return out
