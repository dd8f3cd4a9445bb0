"""A one-shot UDP probe, run inside a client's namespace.

Sends a token to the anycast responder at each target and reports which
PoP answered and the RTT: the catchment as packets see it, not as a
computation would predict.

    python -m anycastlab.agents.probe_once NAME=ADDR [NAME=ADDR ...] [--timeout 2] [--tries 3] [--rounds 1]

prints one JSON object {name: {"addr", "pop" | null, "rtt_ms" | null}}.
"""
from __future__ import annotations

import argparse
import json
import selectors
import socket
import sys
import time
import uuid

from ..model.settings import RESPONDER_PORT as PORT
from .responder import network_rtt


def probe_rounds(targets: dict[str, str], timeout: float, tries: int, rounds: int) -> dict:
    """Several rounds; keep each target's lowest RTT (queueing only ever adds delay)."""
    best = probe_all(targets, timeout, tries)
    for _ in range(rounds - 1):
        for name, r in probe_all(targets, timeout, 1).items():
            old = best[name]
            if r["rtt_ms"] is not None and (old["rtt_ms"] is None or r["rtt_ms"] < old["rtt_ms"]):
                best[name] = r
    return best


def probe_all(targets: dict[str, str], timeout: float, tries: int, port: int = PORT) -> dict:
    """Probe every target at once (one socket each); retry the silent ones."""
    result = {name: {"addr": addr, "pop": None, "rtt_ms": None} for name, addr in targets.items()}
    for _ in range(tries):
        pending = {n for n, r in result.items() if r["pop"] is None}
        if not pending:
            break
        sel = selectors.DefaultSelector()
        sent = {}
        for name in pending:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            token = uuid.uuid4().hex[:16]
            t0 = time.monotonic()  # before sendto: the RTT includes whatever sending costs
            try:
                s.sendto(json.dumps({"token": token}).encode(), (targets[name], port))
            except OSError:
                s.close()
                continue
            sent[name] = (s, token, t0)
            sel.register(s, selectors.EVENT_READ, name)
        deadline = time.monotonic() + timeout
        while sent and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                name = key.data
                s, token, t0 = sent[name]
                try:
                    data = s.recv(2048)
                    reply = json.loads(data.decode())
                except (OSError, ValueError):
                    continue
                if isinstance(reply, dict) and reply.get("token") == token:
                    rtt = network_rtt(t0, time.monotonic(), reply)
                    result[name].update(pop=reply.get("pop"), rtt_ms=round(rtt * 1000, 3))
                    sel.unregister(s)
                    s.close()
                    del sent[name]
        for s, _, _ in sent.values():
            s.close()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description="probe anycast responders once")
    ap.add_argument("targets", nargs="+", help="NAME=ADDR")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--tries", type=int, default=3, help="retries of a silent target")
    ap.add_argument("--rounds", type=int, default=1, help="rounds; the lowest RTT is kept")
    args = ap.parse_args()
    targets = dict(t.split("=", 1) for t in args.targets)
    print(json.dumps(probe_rounds(targets, args.timeout, args.tries, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
