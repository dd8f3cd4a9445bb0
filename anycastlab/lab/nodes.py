"""The lab's nodes: Mininet hosts (one namespace each, no switches, no
controller), veth links, and the one shell script that configures each
node. Also what the machine must have before any of it starts."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from typing import Optional

from ..config import bird, exabgp
from ..errors import EnvironmentProblem, LabError
from ..model.addressing import Node, mac_addresses
from .base import LabBase
from .record import netns_inode, proc_starttime


def build_nodes(lab: LabBase, workers: int = 8) -> None:
    """One Mininet host per node of the address plan, started in parallel.

    Each host is a shell in its own namespaces that Mininet starts and
    waits for: threads overlap the waits. Each is recorded the moment it
    exists (a line appended to the record, not a rewrite of lab.json per
    node, which grows quadratic with thousands of nodes).
    """
    from concurrent.futures import ThreadPoolExecutor

    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.node import Host

    setLogLevel("error")
    assert lab.record is not None
    # Mininet.init() would raise the *host's* sysctl limits (fixLimits);
    # the lab must not touch the root namespace, so mark it done.
    Mininet.inited = True
    lab.net = Mininet(topo=None, build=False, controller=None, autoSetMacs=False,
                      waitConnected=False)
    nodes = list(lab.plan.nodes.values())
    total = len(nodes)

    def one(node: Node) -> None:
        h = Host(node.name, ip=None)
        assert lab.record is not None
        lab.record.add_node(node.name, node_entry(lab, node, h.pid))
        lab.mn[node.name] = h
        lab.pids[node.name] = h.pid

    lab.progress("creating nodes", 0, total)
    with ThreadPoolExecutor(workers) as pool:
        for i, _ in enumerate(pool.map(one, nodes)):
            lab.progress("creating nodes", i + 1, total)
    for node in nodes:  # what addHost would do, in file order
        lab.net.hosts.append(lab.mn[node.name])  # type: ignore[union-attr]
        lab.net.nameToNode[node.name] = lab.mn[node.name]  # type: ignore[union-attr]
    lab.record.save()


def node_entry(lab: LabBase, node: Node, pid: int) -> dict:
    """What the run record keeps of a node (clean-up finds its shell by it)."""
    a = lab.topo.ases[node.asid]
    return {
        "kind": node.kind, "role": a.role, "as": a.id, "asn": a.asn, "city": node.city,
        "loopback": node.loopback, "site_prefix": node.site_prefix,
        "shell_pid": pid, "shell_starttime": proc_starttime(pid),
        "netns_inode": netns_inode(pid),
        "interfaces": [{"name": f.name, "ip": f.cidr, "peer": f.peer_node,
                        "one_way_ms": f.latency_ms} for f in node.interfaces],
    }


def build_links(lab: LabBase) -> None:
    """A veth pair per link of the plan, named as the plan names them: one
    ``ip -batch`` creates every pair with each end directly in its node's
    namespace (nothing is left in, or routed through, the root namespace)."""
    pairs = [(i, lab.plan.interface(i.peer_node, i.node)) for n in lab.plan.nodes.values()
             for i in n.interfaces if i.node < i.peer_node]
    lab.progress("creating links", 0, len(pairs))
    mac = mac_addresses(lab.plan)
    lines = [f"link add name {a.name} address {mac[a.name]} netns {lab.pids[a.node]} type veth "
             f"peer name {b.name} address {mac[b.name]} netns {lab.pids[b.node]}" for a, b in pairs]
    res = subprocess.run(["ip", "-batch", "-"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, timeout=60 + len(lines) / 100)
    if res.returncode != 0:
        raise LabError(f"creating the links failed: {res.stderr.strip()[:400]}",
                       fix="see 'anycastlab check' for the plan; 'sudo make clean' removes a "
                           "half-built lab")
    lab.progress("creating links", len(pairs), len(pairs))


def configure(lab: LabBase, workers: int = 8) -> None:
    """Addresses, routes and sysctls of every node: one exec per node, running
    a ``sysctl`` and an ``ip -batch`` (no process per command), nodes in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    nodes = list(lab.plan.nodes.values())
    done = 0
    lab.progress("configuring nodes", 0, len(nodes))

    mac = mac_addresses(lab.plan)

    def one(node: Node) -> None:
        lab.run(node.name, ["sh", "-ec", node_script(node, extra_config(lab, node), mac)])

    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(one, nodes):
            done += 1
            lab.progress("configuring nodes", done, len(nodes))


def extra_config(lab: LabBase, node: Node) -> list[str]:
    """PoP specifics (``ip -batch`` lines): service addresses on the edge host,
    return-path rules."""
    if node.kind == "host" and node.name.startswith("e-"):  # the PoP's service addresses
        return [f"addr add {a}/32 dev lo" for a in exabgp.service_addresses(lab.plan, node.city)]
    return [f"rule add from {t['prefix']} lookup {t['kernel_table']} priority {t['priority']}"
            for t in bird.return_tables(lab.topo, lab.plan, node)]
def require_root(what: str = "building a lab") -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem(f"{what} needs root (network namespaces, veth, iptables)",
                                 fix="run it with sudo, e.g. 'sudo .venv/bin/anycastlab up ...'")


def require_tools() -> None:
    bird.bird_binary()
    for tool, pkg in (("mnexec", "mininet"), ("ip", "iproute2"), ("iptables", "iptables")):
        if not shutil.which(tool):
            raise EnvironmentProblem(f"'{tool}' is not installed",
                                     fix=f"run 'sudo make setup' (installs the Debian package {pkg})")


def block_signals() -> bool:
    """Hold Ctrl-C/SIGTERM while tearing down, so tear-down runs to the end."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    return True


def node_script(node: Node, extra: Optional[list[str]] = None,
                mac: Optional[dict[str, str]] = None) -> str:
    """The shell script that configures a node's namespace: one ``sysctl``
    and one ``ip -batch`` (``extra``: more ``ip -batch`` lines; ``mac``: the
    plan's MAC addresses, each link's far end written as a permanent
    neighbour, see ``mac_addresses``)."""
    keys = ["net.ipv4.ip_forward=%d" % (1 if node.kind == "router" else 0),
            "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
            "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
    keys += [f"net.ipv6.conf.{i.name}.disable_ipv6=1" for i in node.interfaces]
    ip = ["link set lo up"]
    if node.loopback:
        ip.append(f"addr add {node.loopback}/32 dev lo")
    for i in node.interfaces:
        ip.append(f"addr add {i.cidr} dev {i.name}")
        ip.append(f"link set dev {i.name} up")
        if mac:
            ip.append(f"neigh replace {i.peer_ip} lladdr {mac[i.peer_intf]} dev {i.name} nud permanent")
    if node.gateway:
        ip.append(f"route add default via {node.gateway}")
    ip += extra or []
    return "sysctl -qw " + " ".join(keys) + "\nip -batch - <<'EOF'\n" + "\n".join(ip) + "\nEOF"
