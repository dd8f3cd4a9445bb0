"""The lab's nodes: Mininet hosts (one namespace each, no switches, no
controller), veth links, and the one shell script that configures each
node. Also what the machine must have before any of it starts."""
from __future__ import annotations

import os
import shutil
import signal
from typing import Optional

from ..config import bird, exabgp
from ..errors import EnvironmentProblem
from ..model.addressing import Node
from .base import LabBase
from .record import netns_inode, proc_starttime


def build_nodes(lab: LabBase) -> None:
    """One Mininet host per node of the address plan, each recorded at once."""
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
    total = len(lab.plan.nodes)
    for i, node in enumerate(lab.plan.nodes.values()):
        lab.progress("creating nodes", i, total)
        h = lab.net.addHost(node.name, cls=Host, ip=None)  # type: ignore[union-attr]
        lab.mn[node.name] = h
        lab.pids[node.name] = h.pid
        a = lab.topo.ases[node.asid]
        lab.record.data["nodes"][node.name] = {
            "kind": node.kind, "role": a.role, "as": a.id, "asn": a.asn, "city": node.city,
            "loopback": node.loopback, "site_prefix": node.site_prefix,
            "shell_pid": h.pid, "shell_starttime": proc_starttime(h.pid),
            "netns_inode": netns_inode(h.pid),
            "interfaces": [{"name": f.name, "ip": f.cidr, "peer": f.peer_node,
                            "one_way_ms": f.latency_ms} for f in node.interfaces],
        }
        lab.record.save()  # before the next node: a SIGKILL must not lose a shell
    lab.progress("creating nodes", total, total)


def build_links(lab: LabBase) -> None:
    """A veth pair per link of the plan, named as the plan names them."""
    from mininet.link import Link

    pairs = [(i, lab.plan.interface(i.peer_node, i.node)) for n in lab.plan.nodes.values()
             for i in n.interfaces if i.node < i.peer_node]
    for k, (ia, ib) in enumerate(pairs):
        lab.progress("creating links", k, len(pairs))
        link = Link(lab.mn[ia.node], lab.mn[ib.node], intfName1=ia.name, intfName2=ib.name)
        for mi, pi in ((link.intf1, ia), (link.intf2, ib)):
            mi.ip, mi.prefixLen = pi.ip, pi.prefixlen  # so Mininet's CLI knows them
    lab.progress("creating links", len(pairs), len(pairs))


def configure(lab: LabBase) -> None:
    """Addresses, routes and sysctls of every node: one exec per node."""
    total = len(lab.plan.nodes)
    for i, node in enumerate(lab.plan.nodes.values()):
        lab.progress("configuring nodes", i, total)
        lab.run(node.name, ["sh", "-ec", node_script(node, extra_config(lab, node))])
    lab.progress("configuring nodes", total, total)


def extra_config(lab: LabBase, node: Node) -> list[str]:
    """PoP specifics: service addresses on the edge host, return-path rules."""
    if node.kind == "host" and node.name.startswith("e-"):  # the PoP's service addresses
        return [f"ip addr add {a}/32 dev lo" for a in exabgp.service_addresses(lab.plan, node.city)]
    return [f"ip rule add from {t['prefix']} lookup {t['kernel_table']} priority {t['priority']}"
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


def node_script(node: Node, extra: Optional[list[str]] = None) -> str:
    """Shell commands that configure a node's namespace (one exec per node)."""
    lines = [
        "sysctl -qw net.ipv4.ip_forward=%d" % (1 if node.kind == "router" else 0),
        "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
        "ip link set lo up",
    ]
    if node.loopback:
        lines.append(f"ip addr add {node.loopback}/32 dev lo")
    for i in node.interfaces:
        lines.append(f"sysctl -qw net.ipv6.conf.{i.name}.disable_ipv6=1")
        lines.append(f"ip addr add {i.cidr} dev {i.name}")
        lines.append(f"ip link set dev {i.name} up")
    if node.gateway:
        lines.append(f"ip route add default via {node.gateway}")
    return "\n".join(lines + (extra or []))
