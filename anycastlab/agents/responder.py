"""The anycast service on a PoP's edge host: a UDP responder.

It answers each probe with the PoP's name and echoes the probe's token, on
every service address of the PoP (G.1, P_k.1, U_p.1), replying *from* the
address that was probed: one socket bound per address, so the kernel picks
the right source. ICMP echo is answered by the kernel.

Probe:  {"token": "..."}            (JSON, UDP, port 7777 by default)
Reply:  {"pop": "lon", "token": "...", "addr": "198.18.0.1", "held_us": 41}

``held_us`` is how long the probe spent in this process: from the kernel's
receive stamp (SO_TIMESTAMPNS) to just before the reply is sent. A real
server turns a probe around in microseconds; a Python one on a shared
2-core machine takes tens of microseconds, or milliseconds when it waits
for the CPU. The probes subtract it (``network_rtt``), as a TWAMP reflector's
own turnaround is subtracted (RFC 5357), so RTT is the network's round
trip and not this process's scheduling.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

from ..model.settings import RESPONDER_PORT as PORT

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux: also the cmsg type
_TS = struct.Struct("@qq")  # struct timespec: seconds, nanoseconds


def rx_time(anc: list[tuple[int, int, bytes]]) -> float:
    """The kernel's receive time of a datagram (SO_TIMESTAMPNS), so a wait for
    the CPU after it arrived is not counted as network time; else now."""
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TS.size:
            sec, nsec = _TS.unpack_from(data)
            return sec + nsec / 1e9
    return time.time()


def network_rtt(t_send: float, t_recv: float, reply: dict[str, Any]) -> float:
    """Seconds of network round trip: wall time minus the responder's hold
    (``held_us``, ignored when absent or not a sane number)."""
    rtt = t_recv - t_send
    held = reply.get("held_us")
    if isinstance(held, int) and not isinstance(held, bool) and 0 <= held / 1e6 < rtt:
        rtt -= held / 1e6
    return rtt


def serve(pop: str, addrs: list[str], port: int, ready: Path | None = None) -> None:
    sel = selectors.DefaultSelector()
    socks = []
    for addr in addrs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.bind((addr, port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, addr)
        socks.append(s)
    if ready:
        tmp = ready.with_suffix(".tmp")
        tmp.write_text(str(os.getpid()))
        tmp.replace(ready)
    while True:
        for key, _ in sel.select():
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            try:
                data, anc, _, peer = sock.recvmsg(2048, 64)
            except BlockingIOError:
                continue
            t_rx = rx_time(anc)
            try:
                token = str(json.loads(data.decode()).get("token", ""))[:128]
            except (ValueError, UnicodeDecodeError, AttributeError):
                continue  # not a probe: ignore
            held = max(0, round((time.time() - t_rx) * 1e6))
            reply = json.dumps({"pop": pop, "token": token, "addr": key.data, "held_us": held}).encode()
            try:
                sock.sendto(reply, peer)
            except OSError:
                pass  # no route back right now: the probe will count it as lost


def main() -> int:
    ap = argparse.ArgumentParser(description="anycast UDP responder of one PoP")
    ap.add_argument("--pop", required=True)
    ap.add_argument("--port", type=int, default=PORT)
    ap.add_argument("--ready", type=Path, help="file written once every socket is bound")
    ap.add_argument("addrs", nargs="+")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        serve(args.pop, args.addrs, args.port, args.ready)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
