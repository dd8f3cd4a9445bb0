"""BIRD on every router: start each daemon in its node and wait until BGP
has converged (every session Established, every client sees every prefix
that valley-free policy lets through). Config text: ``config.bird``."""
from __future__ import annotations

import re
import subprocess
import time
from typing import Optional

from ..config import bird
from ..errors import ConvergenceTimeout, LabError
from ..model.addressing import Node, client_router_name
from .base import LabBase
from .birdc import BirdClient, bgp_sessions, route_prefixes
from .record import ProcEntry
from .routes import kernel_prefixes


class Birds:
    """The BIRD daemons of one lab."""

    def __init__(self, lab: LabBase) -> None:
        self.lab = lab
        self.procs: dict[str, subprocess.Popen] = {}
        self.fib_filled = False  # BGP's routes go to the kernels (after the first convergence)

    def start(self, workers: int = 8) -> None:
        """Render and start every router's BIRD, several at a time (each is
        recorded the moment it is started)."""
        from concurrent.futures import ThreadPoolExecutor

        lab = self.lab
        assert lab.record is not None
        binary = bird.bird_binary()
        routers = lab.plan.routers()
        lab.progress("starting BIRD", 0, len(routers))

        def one(node: Node) -> None:
            assert lab.record is not None
            d = lab.record.node_dir(node.name)
            (d / "bird.conf").write_text(bird.render_router(lab.topo, lab.plan, node,
                                                            fib_bgp=self.fib_filled))
            # relative paths: BIRD runs in the node's folder, and a Unix socket
            # path must stay short however deep the run folder is
            cmd = [binary, "-f", "-c", "bird.conf", "-s", "bird.ctl", "-P", "bird.pid"]
            with open(d / "bird.out", "wb") as out:
                p = lab.mn[node.name].popen(cmd, cwd=str(d), stdout=out,  # type: ignore[attr-defined]
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self.procs[node.name] = p
            lab.record.add_daemon(ProcEntry.of("bird", p.pid, node.name, cmd))

        with ThreadPoolExecutor(workers) as pool:
            for i, _ in enumerate(pool.map(one, routers)):
                lab.progress("starting BIRD", i + 1, len(routers))

    def expected_prefixes(self, router: str) -> set[str]:
        """Site prefixes a router must learn: those valley-free policy lets through."""
        topo, plan = self.lab.topo, self.lab.plan
        me = plan.nodes[router]
        reach = topo.valley_free_reach(me.asid)
        out = set()
        for n in plan.routers():
            if n.asid == me.asid:
                continue
            role = topo.ases[n.asid].role
            if role == "cdn":
                nbrs = {plan.nodes[i.peer_node].asid for i in n.interfaces
                        if plan.nodes[i.peer_node].kind == "router"} - {n.asid}
                if nbrs & (reach | {me.asid}):
                    out.add(n.site_prefix)  # type: ignore[arg-type]
            elif n.asid in reach:
                out.add(n.site_prefix)  # type: ignore[arg-type]
        if topo.ases[me.asid].role != "cdn":
            sv = plan.services
            for pop, provs in sv.pop_providers.items():
                if set(provs) & (reach | {me.asid}):
                    out |= {sv.global_prefix, sv.pop_prefixes[pop]}
                    if self.lab.dns_serving:  # announced once a PoP's server answers (speakers/api.py)
                        out.add(sv.dns_prefix)
            out |= {p for k, p in sv.provider_prefixes.items() if k in reach or k == me.asid}
        return out

    def wait_converged(self, timeout: float) -> None:
        """Wait until BGP has converged in every BIRD (every session
        Established, every client router's RIB has every prefix), then until
        every client router's kernel has them too.

        At bring-up BGP's routes reach the kernels only once the RIBs have
        converged (``fill_fibs``): every BIRD writes each best path to its
        kernel itself, under one lock (rtnl) for every namespace, and with a
        thousand BIRDs writing every intermediate best path at once, 600 of
        them sat blocked on it and a generated 1,000-router lab did not
        converge in 8 minutes. One BIRD alone writes 20,000 routes in 0.3 s."""
        deadline = time.monotonic() + timeout
        self.wait_ribs(timeout)
        if not self.fib_filled:
            self.fill_fibs(max(10.0, deadline - time.monotonic()))
        self.wait_fibs(max(5.0, deadline - time.monotonic()))
        self.wait_paths(max(5.0, deadline - time.monotonic()))

    def expected_services(self, client: str) -> dict[str, str]:
        """The service addresses (name -> address) a client network must
        reach: those whose prefix its router must learn (G, P_k, U_p, and
        D while the DNS servers answer)."""
        sv = self.lab.plan.services
        want = self.expected_prefixes(client_router_name(self.lab.topo.ases[client]))
        out = {name: sv.address(p) for name, p in sv.scheme_prefixes().items() if p in want}
        if sv.dns_prefix in want:
            out["dns"] = sv.address(sv.dns_prefix)
        return out

    def wait_paths(self, timeout: float) -> None:
        """Wait until every client's request to every service it must reach
        arrives at a PoP's edge host and the answer from there gets home,
        hop by hop through the kernels (model/paths.py).

        The RIB and FIB checks above look at the client routers only: the
        way back (the PoP's border router and the transits towards the
        client) converges on its own, and on a busy machine it was still
        missing when the first probes went out (the load model then found
        networks with no routed path)."""
        from ..model.paths import describe_failure, service_path

        lab = self.lab
        clients = [a.id for a in lab.topo.clients()]
        pending = {c: self.expected_services(c) for c in clients}
        why: dict[tuple[str, str], str] = {}
        deadline = time.monotonic() + timeout
        with lab.routes() as reader:
            while True:
                cache: dict = {}
                for c in list(pending):
                    for name, addr in list(pending[c].items()):
                        fwd, back = service_path(reader, lab.plan, c, addr, cache)
                        if back is not None and back.end == fwd.start:
                            del pending[c][name]
                            why.pop((c, name), None)
                        else:
                            why[(c, name)] = describe_failure(fwd, back)
                    if not pending[c]:
                        del pending[c]
                lab.progress("paths both ways", len(clients) - len(pending), len(clients))
                if not pending:
                    return
                if time.monotonic() > deadline:
                    lines = [f"{c} -> {name}: {w}" for (c, name), w in sorted(why.items())][:12]
                    raise ConvergenceTimeout(
                        "not every client reaches every service and hears back in time:\n    "
                        + "\n    ".join(lines),
                        fix="look at the BIRD logs in the run folder (<router>/bird.log), or "
                            "'anycastlab exec NODE -- ip route get ADDRESS' while it is up")
                time.sleep(0.1)

    def fill_fibs(self, timeout: float, workers: int = 4) -> None:
        """Rewrite each bird.conf with BGP's routes exported to the kernel and
        reconfigure its BIRD, a few at a time (few writers keep the kernel's
        lock uncontended), each until BIRD has written every route its
        export filter takes (its writes are synchronous: counted when the
        kernel has acknowledged them)."""
        from concurrent.futures import ThreadPoolExecutor

        lab = self.lab
        assert lab.record is not None
        routers = lab.plan.routers()
        deadline = time.monotonic() + timeout
        lab.progress("routes into the kernels", 0, len(routers))

        def one(node: Node) -> None:
            assert lab.record is not None
            conf = lab.record.node_dir(node.name) / "bird.conf"
            conf.write_text(bird.render_router(lab.topo, lab.plan, node))
            client = BirdClient(lab.bird_socket(node.name), timeout=30)
            out = client.command("configure")
            if "Reconfigured" not in out and "Reconfiguration in progress" not in out:
                raise LabError(f"BIRD on {node.name} refused its configuration: {out.strip()[:300]}")
            while True:
                want = exported_target(client.command("show route export fib count"))
                got = exported_count(client.command("show protocols all fib"))
                if want is not None and got is not None and got >= want:
                    return
                if time.monotonic() > deadline:
                    raise ConvergenceTimeout(f"BIRD on {node.name} wrote {got} of {want} routes to its "
                                             "kernel in time", fix="look at its log in the run folder "
                                             "(<router>/bird.log)")
                time.sleep(0.005)

        with ThreadPoolExecutor(workers) as pool:
            for i, _ in enumerate(pool.map(one, routers)):
                lab.progress("routes into the kernels", i + 1, len(routers))
        self.fib_filled = True

    def wait_fibs(self, timeout: float) -> None:
        """Wait until every client router's FIB holds its expected prefixes."""
        lab = self.lab
        clients = [client_router_name(a) for a in lab.topo.clients()]
        pending = {c: self.expected_prefixes(c) for c in clients}
        deadline = time.monotonic() + timeout
        while True:
            for c in list(pending):
                missing = pending[c] - kernel_prefixes(lab.netns_pid(c))
                if missing:
                    pending[c] = missing
                else:
                    del pending[c]
            lab.progress("routes in the kernels", len(clients) - len(pending), len(clients))
            if not pending:
                return
            if time.monotonic() > deadline:
                lines = [f"{c}: {', '.join(sorted(m)[:4])}" for c, m in sorted(pending.items())][:12]
                raise ConvergenceTimeout(
                    "BIRD's routes did not reach the kernels in time; missing:\n    "
                    + "\n    ".join(lines),
                    fix="look at the BIRD logs in the run folder (<router>/bird.log)")
            time.sleep(0.1)

    def wait_ribs(self, timeout: float) -> None:
        """Wait until every BGP session is Established and clients see every prefix."""
        lab = self.lab
        routers = [n.name for n in lab.plan.routers()]
        clients = [client_router_name(a) for a in lab.topo.clients()]
        pending_sessions = set(routers)
        pending_routes = {c: self.expected_prefixes(c) for c in clients}
        stuck: dict[str, list[str]] = {}
        deadline = time.monotonic() + timeout
        total = len(routers) + len(clients)
        while True:
            for r in sorted(pending_sessions):
                sock = lab.bird_socket(r)
                if not sock.exists():
                    stuck[r] = ["BIRD not answering yet"]
                    continue
                self.check_alive(r)
                try:
                    sessions = bgp_sessions(BirdClient(sock))
                except LabError:
                    stuck[r] = ["BIRD not answering yet"]
                    continue
                bad = [f"{p.name} ({p.state} {p.info})".strip() for p in sessions
                       if p.info != "Established"]
                if bad:
                    stuck[r] = bad
                else:
                    pending_sessions.discard(r)
                    stuck.pop(r, None)
            if not pending_sessions:
                for c in list(pending_routes):
                    missing = pending_routes[c] - route_prefixes(BirdClient(lab.bird_socket(c)))
                    if missing:
                        pending_routes[c] = missing
                    else:
                        del pending_routes[c]
            done = total - len(pending_sessions) - len(pending_routes)
            lab.progress("converging", done, total)
            if not pending_sessions and not pending_routes:
                return
            if time.monotonic() > deadline:
                lines = [f"{r}: {', '.join(v[:4])}" for r, v in sorted(stuck.items())
                         if r in pending_sessions][:12]
                lines += [f"{c}: no route yet to {', '.join(sorted(m)[:4])}"
                          for c, m in sorted(pending_routes.items())][:12]
                raise ConvergenceTimeout(
                    f"BGP did not converge within {timeout:.0f} s. Stuck:\n    "
                    + "\n    ".join(lines),
                    fix="look at the BIRD logs in the run folder "
                        f"({lab.record.folder if lab.record else 'runs/'}/<router>/bird.log)")
            time.sleep(0.2)

    def check_alive(self, router: str) -> None:
        p = self.procs.get(router)
        if p is not None and p.poll() is not None:
            out = self.lab.bird_socket(router).parent / "bird.out"
            text = out.read_text(errors="replace").strip() if out.exists() else ""
            raise LabError(f"BIRD on {router} exited with code {p.returncode}: {text[-300:]}",
                           file=out, fix="see the BIRD log in that folder")


def exported_target(text: str) -> Optional[int]:
    """``show route export P count``: "N of M routes for K networks ..." -> N."""
    m = re.search(r"(\d+) of \d+ routes", text)
    return int(m.group(1)) if m else None


def exported_count(text: str) -> Optional[int]:
    """``show protocols all P``: "Routes: I imported, E exported, ..." -> E."""
    m = re.search(r"Routes:\s+\d+ imported, (\d+) exported", text)
    return int(m.group(1)) if m else None
