"""The probe engine's worker: scapy probes from inside one client namespace.

Reads a spec (JSON on stdin), sends ``count`` rounds of probes, one round
every ``interval`` seconds; each round probes every target at once with a
UDP probe to the PoP's responder (RTT and the PoP that answered) and an
ICMP echo. Prints one JSON line per probe, answered or not:

    {"t": 1764000000.123, "client": "c1", "target": "198.18.0.1",
     "scheme": "global", "proto": "udp", "rtt_ms": 12.3, "pop": "nyc"}

``rtt_ms`` and ``pop`` are null for a lost probe: lost probes are recorded,
never dropped. RTTs come from scapy's send time and the reply's capture
timestamp, less the responder's own hold for UDP (``responder.network_rtt``).
"""
from __future__ import annotations

import json
import socket
import sys
import time
import uuid
from typing import Any

from .responder import network_rtt


def run(spec: dict[str, Any], out=sys.stdout) -> int:  # type: ignore[no-untyped-def]
    from scapy.all import ICMP, IP, UDP, Raw, conf, sr  # slow import: only here

    conf.verb = 0
    port = int(spec.get("port", 7777))
    client = spec["client"]
    ident = int(uuid.uuid4().int & 0xFFFF)
    protos = [p for p in ("udp", "icmp") if spec.get(p, True)]
    sent_total = 0
    next_round = time.monotonic()
    for rnd in range(int(spec["count"])):
        # a fresh bound source port per round: a late reply to an earlier round
        # cannot be taken for this one, and the kernel does not answer the
        # responder's replies with ICMP port-unreachable
        guard = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        guard.bind(("0.0.0.0", 0))
        sport = guard.getsockname()[1]
        pkts, meta = [], []
        for i, tgt in enumerate(spec["targets"]):
            if "udp" in protos:
                token = f"{ident:04x}{rnd:04x}{i:04x}"
                pkts.append(IP(dst=tgt["addr"]) / UDP(sport=sport, dport=port)
                            / Raw(json.dumps({"token": token}).encode()))
                meta.append((tgt, "udp", token))
            if "icmp" in protos:
                pkts.append(IP(dst=tgt["addr"]) / ICMP(id=ident, seq=(rnd * 256 + i) & 0xFFFF))
                meta.append((tgt, "icmp", None))
        # paced, not a burst: back-to-back packets queue behind each other in the
        # links' shaper and the later ones would report inflated RTTs
        inter = min(0.5 * float(spec["interval"]), 0.1) / max(1, len(pkts))
        ans, _ = sr(pkts, timeout=float(spec["timeout"]), verbose=0, retry=0, inter=inter)
        by_pkt = {}
        for snd, rcv in ans:
            by_pkt[bytes(snd)] = (snd, rcv)
        for pkt, (tgt, proto, token) in zip(pkts, meta):
            row = {"t": None, "client": client, "target": tgt["addr"], "scheme": tgt["name"],
                   "proto": proto, "rtt_ms": None, "pop": None}
            pair = by_pkt.get(bytes(pkt))
            if pair is not None:
                snd, rcv = pair
                row["t"] = round(float(snd.sent_time), 6)
                pop, reply = None, {}
                if proto == "udp":
                    try:
                        reply = json.loads(bytes(rcv[UDP].payload).decode())
                        pop = reply.get("pop") if reply.get("token") == token else None
                    except (ValueError, UnicodeDecodeError, IndexError, AttributeError):
                        pop = None
                    if pop is None:  # an answer that is not our responder's: lost
                        pair = None
                elif ICMP not in rcv or rcv[ICMP].type != 0:
                    pair = None  # an ICMP error (unreachable, TTL) is no echo reply: lost
                if pair is not None:
                    rtt = network_rtt(float(snd.sent_time), float(rcv.time), reply)
                    row["rtt_ms"] = round(rtt * 1000, 3)
                    row["pop"] = pop
            if row["t"] is None:
                row["t"] = round(getattr(pkt, "sent_time", None) or time.time(), 6)
            out.write(json.dumps(row) + "\n")
            sent_total += 1
        out.flush()
        guard.close()
        next_round += float(spec["interval"])
        time.sleep(max(0.0, next_round - time.monotonic()))
    return sent_total


def main() -> int:
    spec = json.loads(sys.stdin.read())
    run(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
