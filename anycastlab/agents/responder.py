"""The anycast service on a PoP's edge host: a UDP responder.

It answers each probe with the PoP's name and echoes the probe's token, on
every service address of the PoP (G.1, P_k.1, U_p.1), replying *from* the
address that was probed: one socket bound per address, so the kernel picks
the right source. ICMP echo is answered by the kernel.

Probe:  {"token": "..."}            (JSON, UDP, port 7777 by default)
Reply:  {"pop": "lon", "token": "...", "addr": "198.18.0.1"}
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import sys
from pathlib import Path

from ..model.settings import RESPONDER_PORT as PORT


def serve(pop: str, addrs: list[str], port: int, ready: Path | None = None) -> None:
    sel = selectors.DefaultSelector()
    socks = []
    for addr in addrs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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
                data, peer = sock.recvfrom(2048)
            except BlockingIOError:
                continue
            try:
                token = str(json.loads(data.decode()).get("token", ""))[:128]
            except (ValueError, UnicodeDecodeError, AttributeError):
                continue  # not a probe: ignore
            reply = json.dumps({"pop": pop, "token": token, "addr": key.data}).encode()
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
