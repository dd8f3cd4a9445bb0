"""A real pdns_server on loopback serving the rendered zone: answers per
subnet, reloads without restart, and the clients' stub resolver against it."""
from __future__ import annotations

import select
import socket
import subprocess
import time
from pathlib import Path

import pytest

from anycastlab.config import powerdns
from anycastlab.lab import dns as labdns
from anycastlab.model import settings
from anycastlab.model.addressing import provider_addresses
from anycastlab.agents.resolver import Resolvers

GOLDEN = Path(__file__).parent / "golden" / "dns" / "cdn.lab.zone"
SHARES = {"c1": {"tra": 0.9, "trb": 0.1}, "c2": {"trb": 1.0}, "c3": {"tra": 0.333334, "trb": 0.666666}}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scratch_server(plan, tmp_path):
    """A real pdns_server on 127.0.0.1 serving the rendered zone, where c1's
    subnet is 127.0.0.0/8 so that queries from here take c1's branch."""
    labdns.pdns_binary()
    plan.nodes["h-c1"].site_prefix = "127.0.0.0/8"
    port = free_port()
    powerdns.write_config(tmp_path, plan, "test", port=port, address="127.0.0.1")
    zone = labdns.Zone([tmp_path], plan, "tiny", 10)
    zone.write({"c1": {"tra": 1.0}, "c2": {"trb": 1.0}})
    with open(tmp_path / "pdns.out", "wb") as log:
        proc = subprocess.Popen(labdns.server_command(), cwd=tmp_path, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while query(port, settings.NAMES["global"], timeout=0.2) is None:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "pdns.out").read_text()
        yield zone, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def query(port: int, name: str, timeout: float = 1.0) -> str | None:
    import dns.exception
    import dns.message
    import dns.query

    try:
        r = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=timeout)
    except dns.exception.Timeout:
        return None
    return next((x.address for rr in r.answer for x in rr), None)


def test_server_answers_per_subnet_and_reloads_without_restart(plan, scratch_server):
    zone, port = scratch_server
    addrs = provider_addresses(plan)
    assert query(port, settings.NAMES["global"]) == plan.services.address(plan.services.global_prefix)
    assert {query(port, settings.NAMES["ipa"]) for _ in range(20)} == {addrs["tra"]}
    entry = zone.publish({"c1": {"trb": 1.0}})
    assert entry["ok"] and entry["serial"] == 2, entry
    assert {query(port, settings.NAMES["ipa"]) for _ in range(20)} == {addrs["trb"]}
    entry = zone.publish({})  # no shares for anyone: every provider alike
    seen = {query(port, settings.NAMES["ipa"]) for _ in range(60)}
    assert seen == set(addrs.values())  # P(missing one) = 2 * 0.5^60


def resolve_loop(res: Resolvers, sock: socket.socket, until: float) -> None:
    while time.time() < until and res.pending():
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            res.receive("c1", 0, sock.recv(4096), time.time())


def test_stub_resolver_honours_ttl_and_counts_failures(plan, scratch_server, tmp_path):
    zone, port = scratch_server
    tra = provider_addresses(plan)["tra"]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    out = open(tmp_path / "dns.csv", "w")
    res = Resolvers({"c1": [sock]}, settings.NAMES, "127.0.0.1", port, timeout=1.0, prefetch=1.0, out=out)
    t = time.time()
    assert res.address("c1", "ipa", t) == ""          # first query on its way: no probe yet
    resolve_loop(res, sock, time.time() + 2)
    assert res.address("c1", "ipa", t + 0.1) == tra
    assert res.counts["dns_queries"] == 1
    for dt in (1, 5, 8.9):                            # more than prefetch before expiry: from the cache
        assert res.address("c1", "ipa", t + dt) == tra
    assert res.counts["dns_queries"] == 1
    zone.publish({"c1": {"trb": 1.0}})
    assert res.address("c1", "ipa", t + 9.6) == tra    # within prefetch/2 of expiry: asks, keeps the old answer
    assert res.counts["dns_queries"] == 2
    q = res.state[("c1", 0, "ipa")]
    q.sent = time.time() - 5                           # that query now looks 5 s old: it failed
    res.expire(time.time())
    assert res.counts["dns_failed"] == 1
    assert res.address("c1", "ipa", t + 9.9) == tra    # the last answer while its TTL allows
    assert res.address("c1", "ipa", t + 30) is None    # expired, its new query still out: unresolved
    assert res.counts["unresolved"] == 1
    resolve_loop(res, sock, time.time() + 2)
    assert res.address("c1", "ipa", time.time()) == provider_addresses(plan)["trb"]
    out.close()
    text = (tmp_path / "dns.csv").read_text().splitlines()
    assert text[0] == "t,client,name,status,answer,ttl,rtt_ms,resolver,server"
    assert [line.split(",")[3] for line in text[1:]] == ["ok", "timeout", "ok"]
    sock.close()
