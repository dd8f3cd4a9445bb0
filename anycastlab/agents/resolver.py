"""The clients' stub resolvers: real DNS queries, answers cached for their TTL.

Part of the probe stream's event loop (``stream``): every client has one
UDP socket for DNS inside its own namespace and asks the lab's PowerDNS
directly (there is no recursive resolver in the lab, so the server sees the
client's own subnet). Per client and name:

  * an answer is used until its TTL runs out, never longer;
  * ``prefetch`` seconds before it runs out the client asks again, so with
    a working server it is never without an answer (the new answer replaces
    the old one when it arrives);
  * a query without a reply within ``timeout`` is a failed resolution; the
    client asks again at its next probe after that (so about once per
    ``timeout`` while the server is down), and keeps its last answer while
    the TTL allows;
  * no valid answer at probe time: that probe is "unresolved" (written as a
    lost probe with no target address).

Every query is a row of ``dns.csv``: send time, client, name, status
(ok, timeout, or the DNS rcode), answer, TTL, reply time in ms.
"""
from __future__ import annotations

import random
import socket
from dataclasses import dataclass
from typing import IO, Any, Optional

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from ..model.samples import DNS_FIELDS


@dataclass
class Entry:
    """One client's state for one name."""
    answer: Optional[str] = None
    expires: float = 0.0        # wall clock
    query_id: Optional[int] = None
    sent: float = 0.0           # wall clock of the query in flight (or the last one)
    started: bool = False       # a first query has been answered or has failed


class Resolvers:
    def __init__(self, socks: dict[str, socket.socket], names: dict[str, str], server: str,
                 port: int, timeout: float, prefetch: float, out: IO[str],
                 seed: Optional[int] = None) -> None:
        self.socks, self.names, self.server = socks, names, (server, port)
        self.timeout, self.prefetch, self.out = timeout, prefetch, out
        self.rng = random.Random(seed)
        self.state = {(c, n): Entry() for c in socks for n in names}
        self.by_id: dict[tuple[str, int], str] = {}  # (client, query id) -> scheme name
        self.counts = {"dns_queries": 0, "dns_failed": 0, "unresolved": 0}
        out.write(",".join(DNS_FIELDS) + "\n")

    def address(self, client: str, name: str, now: float) -> Optional[str]:
        """The address to probe for ``name`` now; asks the server first if the
        answer is missing or about to expire. None: unresolved (the probe is
        lost); "": the client's very first query is still on its way (a client
        that just started waits for it: no probe, nothing lost)."""
        e = self.state[(client, name)]
        if e.query_id is None and (e.answer is None or e.expires - now <= self.prefetch):
            self._ask(client, name, e, now)
        if e.answer is not None and e.expires > now:
            return e.answer
        if not e.started:
            return ""
        self.counts["unresolved"] += 1
        return None

    def _ask(self, client: str, name: str, e: Entry, now: float) -> None:
        qid = self.rng.randrange(1 << 16)
        while (client, qid) in self.by_id:
            qid = self.rng.randrange(1 << 16)
        q = dns.message.make_query(self.names[name], dns.rdatatype.A)
        q.id = qid
        q.flags &= ~dns.flags.RD  # an authoritative server: no recursion wanted
        e.query_id, e.sent = qid, now
        self.by_id[(client, qid)] = name
        self.counts["dns_queries"] += 1
        try:
            self.socks[client].sendto(q.to_wire(), self.server)
        except OSError:
            pass  # no route right now: it will time out like any lost query

    def receive(self, client: str, data: bytes, now: float) -> None:
        try:
            msg = dns.message.from_wire(data)
        except Exception:  # noqa: BLE001 - any malformed reply is ignored, as a stub would
            return
        name = self.by_id.pop((client, msg.id), None)
        if name is None:
            return  # a late reply to a query already counted as failed
        e = self.state[(client, name)]
        e.query_id, e.started = None, True
        rtt = (now - e.sent) * 1000
        rcode = msg.rcode()
        a = [(rr.ttl, r.address) for rr in msg.answer if rr.rdtype == dns.rdatatype.A for r in rr]
        if rcode != dns.rcode.NOERROR or not a:
            status = dns.rcode.to_text(rcode).lower() if rcode != dns.rcode.NOERROR else "noanswer"
            self.counts["dns_failed"] += 1
            self._row(e.sent, client, name, status, "", "", rtt)
            return
        ttl, addr = a[0]
        e.answer, e.expires = addr, now + ttl
        self._row(e.sent, client, name, "ok", addr, str(ttl), rtt)

    def expire(self, now: float) -> None:
        """Queries without a reply within the timeout are failed resolutions."""
        for (client, name), e in self.state.items():
            if e.query_id is not None and now - e.sent >= self.timeout:
                self.by_id.pop((client, e.query_id), None)
                e.query_id, e.started = None, True
                self.counts["dns_failed"] += 1
                self._row(e.sent, client, name, "timeout", "", "", None)

    def pending(self) -> bool:
        return any(e.query_id is not None for e in self.state.values())

    def _row(self, t: float, client: str, name: str, status: str, answer: str, ttl: str,
             rtt: Optional[float]) -> None:
        self.out.write(f"{t:.6f},{client},{name},{status},{answer},{ttl},"
                       f"{'' if rtt is None else f'{rtt:.3f}'}\n")


def ask_many(server: str, name: str, count: int, timeout: float = 1.0, port: int = 53,
             duration: Optional[float] = None) -> dict[str, Any]:
    """Ask ``count`` times (or for ``duration`` seconds), one query at a time,
    no cache: the distribution of a LUA record's answers as this host gets it.
    Returns the answers in order ("" for a failed query) and their times."""
    import time

    import dns.exception
    import dns.query

    q = dns.message.make_query(name, dns.rdatatype.A)
    q.flags &= ~dns.flags.RD
    answers, times = [], []
    end = time.time() + duration if duration else None
    while (len(answers) < count) if end is None else (time.time() < end):
        t = time.time()
        try:
            r = dns.query.udp(q, server, port=port, timeout=timeout)
            got = next((x.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for x in rr), "")
        except (dns.exception.Timeout, OSError):
            got = ""
        answers.append(got)
        times.append(round(t, 6))
    return {"answers": answers, "times": times, "failed": answers.count("")}


def main() -> int:
    """``python -m anycastlab.agents.resolver SERVER NAME COUNT [DURATION]``, run inside
    a client's namespace (``anycastlab resolve`` and the lab tests use it)."""
    import json
    import sys

    server, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    duration = float(sys.argv[4]) if len(sys.argv) > 4 else None
    print(json.dumps(ask_many(server, name, count, duration=duration)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
