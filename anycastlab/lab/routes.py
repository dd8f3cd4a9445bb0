"""Route lookups in the lab's namespaces, over netlink.

The load model reads the path of every client to every service prefix and
back each time routes may have moved: a few thousand ``ip route get``
lookups on world. As processes (one ``mnexec ip`` per node per hop) that
took 1 s at rest and 3-5 s while a timeline's probes ran, and the burst of
process creation made the link engine late. Over netlink the same lookups
are the kernel's own answer (RTM_GETROUTE, as ``ip route get`` asks it)
at about 0.3 ms each, in one thread, with no process started.

pyroute2 (a well-kept netlink library) opens one socket per node: the
calling thread enters the node's namespace to open it (a netlink socket
stays in the namespace it was created in) and returns to its own at once.
pyroute2's synchronous sockets belong to the thread that opened them, so a
``RouteReader`` is used by one thread, inside a ``with`` block.
"""
from __future__ import annotations

import ctypes
import os
from typing import Any, Callable, Optional

from ..errors import LabError

CLONE_NEWNET = 0x40000000
RTN_UNICAST, RTN_LOCAL = 1, 2

Answer = tuple[str, Optional[str]]   # (unicast | local | none, the device it leaves by)


class RouteReader:
    """``get(node, dst, src, iif)``: what the kernel of ``node`` does with a
    packet to ``dst`` (from ``src``, arriving on interface ``iif``)."""

    def __init__(self, netns_pid: Callable[[str], int]) -> None:
        self.netns_pid = netns_pid
        self.socks: dict[str, tuple[Any, dict[int, str], dict[str, int]]] = {}
        self._libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.lookups = 0

    def __enter__(self) -> "RouteReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        for ipr, _, _ in self.socks.values():
            ipr.close()
        self.socks.clear()

    def _setns(self, fd: int) -> None:
        if self._libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise LabError(f"cannot enter a lab namespace: {os.strerror(err)}",
                           fix="run as root, with the lab up")

    def _open(self, node: str) -> tuple[Any, dict[int, str], dict[str, int]]:
        from pyroute2 import IPRoute

        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            target = os.open(f"/proc/{self.netns_pid(node)}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                self._setns(target)
                try:
                    ipr = IPRoute()
                    names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
                finally:
                    self._setns(home)
            finally:
                os.close(target)
        finally:
            os.close(home)
        return ipr, names, {v: k for k, v in names.items()}

    def get(self, node: str, dst: str, src: Optional[str] = None, iif: Optional[str] = None,
            retry: bool = True) -> Answer:
        if node not in self.socks:
            self.socks[node] = self._open(node)
        ipr, names, index = self.socks[node]
        kw: dict[str, Any] = {"dst": dst}
        if src:
            kw["src"] = src
        if iif:
            kw["iif"] = index[iif]
        from pyroute2.netlink.exceptions import NetlinkError

        self.lookups += 1
        try:
            msg = ipr.route("get", **kw)[0]
        except NetlinkError:   # the kernel's answer: no route (unreachable, prohibited, blackhole)
            return "none", None
        except OSError as exc:  # the socket, not the route (e.g. ENOBUFS on a busy machine): ask anew
            ipr.close()
            self.socks.pop(node, None)
            if retry:
                return self.get(node, dst, src, iif, retry=False)
            raise LabError(f"route lookup in {node} failed: {exc}", fix="is the lab still up?") from None
        kind = {RTN_UNICAST: "unicast", RTN_LOCAL: "local"}.get(msg["type"], "none")
        return kind, names.get(msg.get_attr("RTA_OIF"))


def kernel_prefixes(pid: int) -> set[str]:
    """The destinations ("a.b.c.d/len") of the main routing table in the
    namespace of ``pid``, from /proc/<pid>/net/route: the kernel's own text,
    about a millisecond for a thousand routes (a netlink dump parsed by
    pyroute2 took 30 times as long)."""
    try:
        with open(f"/proc/{pid}/net/route") as f:
            return route_table_prefixes(f.read())
    except OSError as e:
        raise LabError(f"cannot read the routes of process {pid}: {e}", fix="is the lab still up?") from None


def route_table_prefixes(text: str) -> set[str]:
    """Parse /proc/net/route (hex, little-endian destination and mask)."""
    import socket
    import struct

    out = set()
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) >= 8:
            dst = socket.inet_ntoa(struct.pack("<I", int(f[1], 16)))
            out.add(f"{dst}/{bin(int(f[7], 16)).count('1')}")
    return out
