"""The client networks' resolvers: real DNS queries, answers cached for their TTL.

Part of the probe stream's event loop (``stream``). A client network has
``resolvers`` of them (32 by default: its users' caches); each is a real
DNS client with its own UDP socket inside the network's namespace, its own
TTL cache and its own draws, and asks the CDN's authoritative servers
directly (the anycast DNS address, or the unicast server; there is no
recursive resolver in the lab, so the server sees the network's own
subnet). The network's IPA probes take turns over its resolvers, so the
answers it uses converge to the zone's shares. Per resolver and name:

  * an answer is used until its TTL runs out, never longer;
  * between ``prefetch``/2 and ``prefetch`` seconds (drawn per answer, so
    the resolvers drift apart) before it runs out the resolver asks again
    by itself, as a busy resolver does, so with a working server it is
    never without an answer (the new answer replaces the old one when it
    arrives);
  * a query without a reply within ``timeout`` is a failed resolution; the
    resolver asks again after that, by itself or at its next turn (about
    once per ``timeout`` while the server is down), and keeps its last
    answer while the TTL allows;
  * no valid answer at probe time: that probe is "unresolved" (written as a
    lost probe with no target address).

Every query asks for the server's NSID (RFC 5001): with anycast DNS it
names the PoP whose server answered. Every query is a row of ``dns.csv``:
send time, client, name, status (ok, timeout, or the DNS rcode), answer,
TTL, reply time in ms, resolver number, server (NSID).
"""
from __future__ import annotations

import math
import random
import socket
from dataclasses import dataclass
from typing import IO, Any, Optional

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from ..model.samples import DNS_FIELDS


@dataclass
class Entry:
    """One resolver's state for one name."""
    answer: Optional[str] = None
    expires: float = 0.0        # wall clock
    refresh: float = 0.0        # re-ask this long before it expires (drawn per answer)
    query_id: Optional[int] = None
    sent: float = 0.0           # wall clock of the query in flight (or the last one)
    started: bool = False       # a first query has been answered or has failed
    first_at: float = math.inf  # when its users arrive (its first query); start() sets it, else on demand


def make_query(name: str, qid: int) -> bytes:
    """An A query without recursion (an authoritative server), asking for NSID."""
    q = dns.message.make_query(name, dns.rdatatype.A, use_edns=0,
                               options=[dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")])
    q.id = qid
    q.flags &= ~dns.flags.RD
    return q.to_wire()


def nsid(msg: dns.message.Message) -> str:
    """The server's NSID in a reply, '' if none."""
    for opt in msg.options:
        if opt.otype == dns.edns.OptionType.NSID:
            data = getattr(opt, "nsid", None) or getattr(opt, "data", b"")
            return data.decode("ascii", "replace") if isinstance(data, bytes) else str(data)
    return ""


Key = tuple[str, int, str]  # (client, resolver, name)


class Resolvers:
    def __init__(self, socks: dict[str, list[socket.socket]], names: dict[str, str], server: str,
                 port: int, timeout: float, prefetch: float, out: IO[str],
                 seed: Optional[int] = None) -> None:
        self.socks, self.names, self.server = socks, names, (server, port)
        self.timeout, self.prefetch, self.out = timeout, prefetch, out
        self.rng = random.Random(seed)
        self.state: dict[Key, Entry] = {(c, r, n): Entry() for c in socks
                                        for r in range(len(socks[c])) for n in names}
        self.turn = {(c, n): 0 for c in socks for n in names}
        self.last = 0  # the resolver that gave the last ``address`` (the probe row records it)
        self.by_id: dict[tuple[str, int, int], str] = {}  # (client, resolver, query id) -> name
        self.counts = {"dns_queries": 0, "dns_failed": 0, "unresolved": 0}
        out.write(",".join(DNS_FIELDS) + "\n")

    def start(self, now: float, spread_s: float = 0.0) -> None:
        """The networks' users arrive: resolver r of a network first asks at
        now + (r + u) / R x ``spread_s`` (u: a random offset per network and
        name), the first at once. Spread over one TTL, the resolvers' caches
        run out at evenly spaced times, as in a population of resolvers that
        were not all started together; asked all at once they would stay in
        step and hit the servers in bursts (736 queries in world every TTL)
        that queue at the servers and make resolution time an artefact."""
        for c, ss in self.socks.items():
            for n in self.names:
                u = self.rng.random()
                for r in range(len(ss)):
                    e = self.state[(c, r, n)]
                    e.first_at = now + (0.0 if r == 0 else (r + u) / len(ss) * spread_s)
                    if e.first_at <= now:
                        self._ask(c, r, n, e, now)

    def address(self, client: str, name: str, now: float) -> Optional[str]:
        """The address to probe for ``name`` now, from the client's next
        resolver in turn among those whose users have arrived (asked once);
        asks the server first if that resolver's answer is missing or about
        to expire. None: unresolved (the probe is lost); "": no resolver of
        the network has had a first answer yet (users who just arrived wait
        for it: no probe, nothing lost)."""
        n_res = len(self.socks[client])
        r = self.turn[(client, name)]
        for i in range(n_res):  # skip the resolvers not yet arrived
            if self.state[(client, (r + i) % n_res, name)].started:
                r = (r + i) % n_res
                break
        self.last = r
        self.turn[(client, name)] = (r + 1) % n_res
        e = self.state[(client, r, name)]
        if e.query_id is None and (e.answer is None or e.expires - now <= e.refresh):
            self._ask(client, r, name, e, now)
        if e.answer is not None and e.expires > now:
            return e.answer
        if not e.started:
            return ""
        self.counts["unresolved"] += 1
        return None

    def _ask(self, client: str, r: int, name: str, e: Entry, now: float) -> None:
        qid = self.rng.randrange(1 << 16)
        while (client, r, qid) in self.by_id:
            qid = self.rng.randrange(1 << 16)
        e.query_id, e.sent = qid, now
        self.by_id[(client, r, qid)] = name
        self.counts["dns_queries"] += 1
        try:
            self.socks[client][r].sendto(make_query(self.names[name], qid), self.server)
        except OSError:
            pass  # no route right now: it will time out like any lost query

    def receive(self, client: str, r: int, data: bytes, now: float) -> None:
        try:
            msg = dns.message.from_wire(data)
        except Exception:  # noqa: BLE001 - any malformed reply is ignored, as a stub would
            return
        name = self.by_id.pop((client, r, msg.id), None)
        if name is None:
            return  # a late reply to a query already counted as failed
        e = self.state[(client, r, name)]
        e.query_id, e.started = None, True
        rtt = (now - e.sent) * 1000
        rcode = msg.rcode()
        server = nsid(msg)
        a = [(rr.ttl, x.address) for rr in msg.answer if rr.rdtype == dns.rdatatype.A for x in rr]
        if rcode != dns.rcode.NOERROR or not a:
            status = dns.rcode.to_text(rcode).lower() if rcode != dns.rcode.NOERROR else "noanswer"
            self.counts["dns_failed"] += 1
            self._row(e.sent, client, name, status, "", "", rtt, r, server)
            return
        ttl, addr = a[0]
        e.answer, e.expires = addr, now + ttl
        e.refresh = min(self.prefetch * (0.5 + 0.5 * self.rng.random()), ttl / 2)
        self._row(e.sent, client, name, "ok", addr, str(ttl), rtt, r, server)

    def expire(self, now: float) -> None:
        """Queries without a reply within the timeout are failed resolutions;
        resolvers whose answer is about to run out ask again."""
        for (client, r, name), e in self.state.items():
            if e.query_id is not None:
                if now - e.sent >= self.timeout:
                    self.by_id.pop((client, r, e.query_id), None)
                    e.query_id, e.started = None, True
                    self.counts["dns_failed"] += 1
                    self._row(e.sent, client, name, "timeout", "", "", None, r, "")
            elif e.answer is not None and now < e.expires and e.expires - now <= e.refresh:
                self._ask(client, r, name, e, now)
            elif e.started and (e.answer is None or now >= e.expires) and now - e.sent >= self.timeout:
                self._ask(client, r, name, e, now)  # without a valid answer: retry once per timeout
            elif not e.started and e.sent == 0.0 and now >= e.first_at:
                self._ask(client, r, name, e, now)  # its users arrive

    def pending(self) -> bool:
        return any(e.query_id is not None for e in self.state.values())

    def _row(self, t: float, client: str, name: str, status: str, answer: str, ttl: str,
             rtt: Optional[float], r: int, server: str) -> None:
        self.out.write(f"{t:.6f},{client},{name},{status},{answer},{ttl},"
                       f"{'' if rtt is None else f'{rtt:.3f}'},{r},{server}\n")


def ask_many(server: str, name: str, count: int, timeout: float = 1.0, port: int = 53,
             duration: Optional[float] = None) -> dict[str, Any]:
    """Ask ``count`` times (or for ``duration`` seconds), one query at a time,
    no cache: the distribution of a LUA record's answers as this host gets it.
    Returns the answers in order ("" for a failed query), their times and
    the NSID of the server that gave each ("" if none or failed)."""
    import time

    import dns.exception
    import dns.query

    answers, times, servers = [], [], []
    end = time.time() + duration if duration else None
    rng = random.Random()
    while (len(answers) < count) if end is None else (time.time() < end):
        t = time.time()
        try:
            q = dns.message.from_wire(make_query(name, rng.randrange(1 << 16)))
            r = dns.query.udp(q, server, port=port, timeout=timeout)
            got = next((x.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for x in rr), "")
            sid = nsid(r)
        except (dns.exception.Timeout, OSError):
            got, sid = "", ""
        answers.append(got)
        times.append(round(t, 6))
        servers.append(sid)
    return {"answers": answers, "times": times, "servers": servers, "failed": answers.count("")}


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
