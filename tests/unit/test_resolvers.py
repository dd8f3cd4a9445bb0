"""The client networks' resolvers (agents/resolver.py) and answered vs
intended shares (analysis/dns.py), without a lab: the sockets capture what
would be sent and the replies are built with dnspython as a server would."""
from __future__ import annotations

import io
import math

import dns.edns
import dns.message
import dns.rrset

from anycastlab.agents.resolver import Resolvers, make_query, nsid
from anycastlab.analysis.dns import answered_vs_intended, summary
from anycastlab.model.samples import DNS_FIELDS


class Sock:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append(data)


def reply(query: bytes, addr: str, ttl: int = 10, server: str = "lon") -> bytes:
    q = dns.message.from_wire(query)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text(q.question[0].name, ttl, "IN", "A", addr))
    r.use_edns(0, options=[dns.edns.GenericOption(dns.edns.OptionType.NSID, server.encode())])
    return r.to_wire()


def make(n: int = 3, prefetch: float = 1.0) -> tuple[Resolvers, dict[str, list[Sock]], io.StringIO]:
    socks = {"c1": [Sock() for _ in range(n)]}
    out = io.StringIO()
    return Resolvers(socks, {"ipa": "ipa.cdn.lab"}, "198.19.0.1", 53, 1.0, prefetch, out, seed=1), socks, out


def test_query_asks_for_nsid_without_recursion_and_reads_it_back() -> None:
    q = dns.message.from_wire(make_query("ipa.cdn.lab", 7))
    assert q.id == 7 and not q.flags & dns.flags.RD
    assert any(o.otype == dns.edns.OptionType.NSID for o in q.options)
    assert nsid(dns.message.from_wire(reply(make_query("ipa.cdn.lab", 7), "198.18.1.1", server="sao"))) == "sao"


def test_every_resolver_asks_at_start_and_probes_take_turns() -> None:
    res, socks, out = make(3)
    res.start(100.0)
    assert [len(s.sent) for s in socks["c1"]] == [1, 1, 1]
    for r, addr in enumerate(("198.18.1.1", "198.18.2.1", "198.18.1.1")):
        res.receive("c1", r, reply(socks["c1"][r].sent[0], addr), 100.05)
    got = [res.address("c1", "ipa", 100.1 + i * 0.1) for i in range(6)]
    assert got == ["198.18.1.1", "198.18.2.1", "198.18.1.1"] * 2
    rows = out.getvalue().splitlines()
    assert rows[0] == ",".join(DNS_FIELDS)
    assert rows[1].split(",")[3:] == ["ok", "198.18.1.1", "10", "50.000", "0", "lon"]


def test_a_resolver_refreshes_by_itself_before_its_answer_expires() -> None:
    res, socks, _ = make(2, prefetch=1.0)
    res.start(0.0)
    for r in range(2):
        res.receive("c1", r, reply(socks["c1"][r].sent[0], "198.18.1.1", ttl=10), 0.01)
    res.expire(5.0)
    assert [len(s.sent) for s in socks["c1"]] == [1, 1]   # far from expiry: nothing
    res.expire(9.0)                                       # within prefetch/2..prefetch of 10.01
    assert [len(s.sent) for s in socks["c1"]] == [1, 1]
    res.expire(9.6)                                       # 0.41 s left: below prefetch/2 -> both ask
    assert [len(s.sent) for s in socks["c1"]] == [2, 2]
    assert res.address("c1", "ipa", 9.7) == "198.18.1.1"  # the old answer holds until its TTL


def test_a_timed_out_query_is_a_failed_resolution_and_then_unresolved() -> None:
    res, socks, out = make(1)
    res.start(0.0)
    res.expire(1.5)
    assert res.counts["dns_failed"] == 1
    assert "timeout" in out.getvalue()
    assert res.address("c1", "ipa", 1.6) is None   # asks again, nothing valid meanwhile
    assert res.counts["unresolved"] == 1 and len(socks["c1"][0].sent) == 2


def test_answered_vs_intended_hand_computed() -> None:
    # shares 0.75/0.25 in force from t = 0; 4 answers: 2 tra, 2 trb
    history = [(0.0, {"c1": {"tra": 0.75, "trb": 0.25}})]
    answers = [(1.0, "tra"), (2.0, "trb"), (3.0, "tra"), (4.0, "trb")]
    got = answered_vs_intended(answers, history, "c1")
    assert got is not None
    assert got["intended"] == {"tra": 0.75, "trb": 0.25}
    assert got["answered"] == {"tra": 0.5, "trb": 0.5}
    assert got["distance"] == 0.25
    # deviation 1 answer (2 - 3), sd sqrt(4 x 0.75 x 0.25) = 0.866: z = 1.15
    assert got["z"] == round(1 / math.sqrt(0.75), 2)


def test_intended_follows_the_zone_over_time_and_skips_before_the_first_entry() -> None:
    history = [(10.0, {"c1": {"tra": 1.0}}), (20.0, {"c1": {"trb": 1.0}})]
    answers = [(5.0, "tra"), (15.0, "tra"), (25.0, "trb"), (26.0, "trb")]
    got = answered_vs_intended(answers, history, "c1")
    assert got["answers"] == 3
    assert got["intended"] == {"tra": round(1 / 3, 4), "trb": round(2 / 3, 4)}
    assert got["distance"] == 0.0 and got["z"] == 0.0
    assert answered_vs_intended([(5.0, "tra")], history, "c1") is None


def test_summary_per_client_servers_resolvers_and_reply_time() -> None:
    rows = [{"t": 1.0, "client": "c1", "name": "ipa", "status": "ok", "answer": "A1", "ttl": 10,
             "rtt_ms": 4.0, "resolver": r, "server": "lon"} for r in range(3)]
    rows.append({"t": 1.0, "client": "c1", "name": "ipa", "status": "timeout", "answer": None,
                 "ttl": None, "rtt_ms": None, "resolver": 3, "server": None})
    s = summary(rows, {"A1": "tra"}, [(0.0, {"c1": {"tra": 1.0}})])
    c = s["clients"]["c1"]
    assert c["resolvers"] == 4 and c["server"] == "lon" and c["reply_ms"] == 4.0
    assert c["queries"] == 4 and c["failed"] == 1
    assert c["shares"]["distance"] == 0.0 and s["distance"]["max"] == 0.0


def test_the_report_renders_one_dns_row_per_network() -> None:
    from anycastlab.report.tables import DNS_CLIENT_HEAD, dns_client_rows, md_table

    rows = [{"t": 1.0, "client": "c1", "name": "ipa", "status": "ok", "answer": "A1", "ttl": 10,
             "rtt_ms": 4.0, "resolver": 0, "server": "lon"}]
    data = {"dns": {"mode": "dns", "resolutions": summary(rows, {"A1": "tra"}, [(0.0, {"c1": {"tra": 1.0}})])}}
    got = dns_client_rows(data)
    assert got == [["c1", "1", "1", "0", "4.0", "lon", "1", "tra 1.00", "tra 1.00", "0.000", "0.0"]]
    assert "| c1 | 1 |" in md_table(DNS_CLIENT_HEAD, got)
    assert dns_client_rows({"dns": {"mode": "model"}}) == []


def test_first_queries_spread_over_one_ttl_and_probes_use_arrived_resolvers() -> None:
    res, socks, _ = make(4)
    res.start(0.0, spread_s=8.0)
    assert [len(s.sent) for s in socks["c1"]] == [1, 0, 0, 0]   # the first at once
    firsts = [res.state[("c1", r, "ipa")].first_at for r in range(4)]
    assert firsts[0] == 0.0 and all(2 * r <= firsts[r] < 2 * (r + 1) for r in range(1, 4))  # (r + u) / 4 x 8
    assert res.address("c1", "ipa", 0.01) == ""                 # nobody answered yet: no probe
    res.receive("c1", 0, reply(socks["c1"][0].sent[0], "198.18.1.1"), 0.05)
    assert [res.address("c1", "ipa", 0.1 + i / 10) for i in range(3)] == ["198.18.1.1"] * 3
    assert res.last == 0                                        # the only one arrived
    res.expire(firsts[1])
    assert len(socks["c1"][1].sent) == 1 and len(socks["c1"][2].sent) == 0
    res.expire(8.0)
    assert [len(s.sent) for s in socks["c1"]] == [1, 1, 1, 1]
