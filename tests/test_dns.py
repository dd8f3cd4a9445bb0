"""DNS steering without root: the zone (golden file, exact weights), PowerDNS's
own checker, a real pdns_server on loopback answering per subnet, the
clients' stub resolver against it, the steering loop and the DNS chain."""
from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from anycastlab.config import powerdns
from anycastlab.lab import dns as labdns
from anycastlab.model import settings
from anycastlab.model.addressing import provider_addresses
from anycastlab.model.addressing import plan_addresses
from anycastlab.analysis.baseline import allocate
from anycastlab.model.settings import Steering
from anycastlab.analysis.dns import event_timing, stage_summary
from anycastlab.agents.resolver import Resolvers
from anycastlab.measure.steering import SteeringLoop
from anycastlab.analysis.timeline import rank

GOLDEN = Path(__file__).parent / "golden" / "dns" / "cdn.lab.zone"
SHARES = {"c1": {"tra": 0.9, "trb": 0.1}, "c2": {"trb": 1.0}, "c3": {"tra": 0.333334, "trb": 0.666666}}


@pytest.fixture
def plan(tiny):
    return plan_addresses(tiny)


def test_zone_matches_golden_file(plan):
    """Set UPDATE_GOLDEN=1 to rewrite it after an intended change (then review the diff)."""
    text = powerdns.render_zone(plan, "tiny", SHARES, serial=7, ttl=10)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def lua_weights(zone: str) -> dict[str, dict[str, int]]:
    """subnet -> address -> weight, parsed back out of the rendered LUA record."""
    lua = re.search(r'ipa\s+IN LUA A "(.*)"', zone).group(1)  # type: ignore[union-attr]
    out = {}
    for subnet, pick in re.findall(r"netmask\(\{'([^']+)'\}\) then return pickwrandom\((\{.*?\}\})\)", lua):
        out[subnet] = {a: int(w) for w, a in re.findall(r"\{(\d+),'([\d.]+)'\}", pick)}
    return out


def test_shares_become_exact_integer_weights(plan):
    addrs = provider_addresses(plan)
    # shares as the steering loop makes them (allocate rounds to 6 decimals)
    cases = [allocate({"tra": a, "trb": b}, Steering(cap=c, floor=f))
             for a, b, c, f in [(0.4, -0.1, 0.9, 0.02), (0.1, 0.1, 0.7, 0.05), (-0.5, 0.5, 0.61, 0.0),
                                (0.3, 0.2, 1.0, 0.0), (0.0, 0.25, 0.55, 0.123457)]]
    for sh in cases:
        zone = powerdns.render_zone(plan, "tiny", {"c1": sh}, 1, 10)
        got = lua_weights(zone)[powerdns.client_subnet(plan, "c1")]
        expect = {addrs[k]: v for k, v in sh.items() if v > 0}
        assert set(got) == set(expect)
        for a, w in got.items():
            assert w / powerdns.SCALE == expect[a]  # exact: shares carry 6 decimals
    assert powerdns.weights({"tra": 0.0, "trb": 1.0}, addrs) == [(1_000_000, addrs["trb"])]


def test_rendered_zone_passes_pdnsutil_check_zone(plan, tmp_path):
    if not shutil.which("pdnsutil"):
        pytest.fail("pdnsutil is missing: run 'sudo make setup' (pdns-server)")
    powerdns.write_config(tmp_path, plan, "test")
    zone = labdns.Zone(tmp_path, plan, "tiny", 10)
    zone.write(SHARES)
    res = subprocess.run(["pdnsutil", f"--config-dir={tmp_path}", "check-zone", settings.ZONE],
                         capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 errors" in res.stdout


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
    zone = labdns.Zone(tmp_path, plan, "tiny", 10)
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
            res.receive("c1", sock.recv(4096), time.time())


def test_stub_resolver_honours_ttl_and_counts_failures(plan, scratch_server, tmp_path):
    zone, port = scratch_server
    tra = provider_addresses(plan)["tra"]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    out = open(tmp_path / "dns.csv", "w")
    res = Resolvers({"c1": sock}, settings.NAMES, "127.0.0.1", port, timeout=1.0, prefetch=1.0, out=out)
    t = time.time()
    assert res.address("c1", "ipa", t) == ""          # first query on its way: no probe yet
    resolve_loop(res, sock, time.time() + 2)
    assert res.address("c1", "ipa", t + 0.1) == tra
    assert res.counts["dns_queries"] == 1
    for dt in (1, 5, 8.9):                            # within TTL - prefetch: from the cache
        assert res.address("c1", "ipa", t + dt) == tra
    assert res.counts["dns_queries"] == 1
    zone.publish({"c1": {"trb": 1.0}})
    assert res.address("c1", "ipa", t + 9.5) == tra    # prefetch: asks, still uses the old answer
    assert res.counts["dns_queries"] == 2
    q = res.state[("c1", "ipa")]
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
    assert text[0] == "t,client,name,status,answer,ttl,rtt_ms"
    assert [line.split(",")[3] for line in text[1:]] == ["ok", "timeout", "ok"]
    sock.close()


def test_steering_loop_ranks_like_the_model_and_survives_a_dead_server(plan, tmp_path):
    """Its zone log carries the same shares timeline.rank gives; with no
    server to reload, the failure is logged and the loop goes on."""
    samples = tmp_path / "samples.csv"
    rows = ["t,client,target,scheme,proto,rtt_ms,lost,pop"]
    t0 = 1000.0
    for i in range(20):  # window [-2, 0): tra fast, trb slow and lossy
        t = t0 - 2 + i * 0.1
        rows.append(f"{t},c1,198.18.1.1,provider:tra,udp,{3 + i % 3},0,nyc")
        rows.append(f"{t},c1,198.18.2.1,provider:trb,udp,{'' if i % 4 == 0 else 9},{int(i % 4 == 0)},"
                    f"{'' if i % 4 == 0 else 'lon'}")
    samples.write_text("\n".join(rows) + "\n")
    powerdns.write_config(tmp_path, plan, "test")
    zone = labdns.Zone(tmp_path, plan, "tiny", 10)
    st = Steering(window_s=2)
    loop = SteeringLoop(zone, samples, ["tra", "trb"], st, t0, -2.0, 0.0)
    loop.step()
    (entry,) = loop.log
    expect = rank({"tra": [3 + i % 3 for i in range(20)],
                   "trb": [None if i % 4 == 0 else 9 for i in range(20)]}, st)[0]
    assert entry["shares"] == {"c1": expect} and entry["window"] == [-2.0, 0.0]
    assert entry["ok"] is False and "reload" in entry["error"]
    assert lua_weights((tmp_path / powerdns.ZONE_FILE).read_text())  # the zone was written anyway


def test_dns_chain_splits_recovery():
    log = [{"window": [-5, 0], "t_ranked_s": 1.8, "t_reloaded_s": 1.81, "ok": True, "serial": 2,
            "shares": {"c1": {"tra": 0.9, "trb": 0.1}}},
           {"window": [0, 5], "t_ranked_s": 6.8, "t_reloaded_s": 6.81, "ok": True, "serial": 3,
            "shares": {"c1": {"tra": 0.9, "trb": 0.1}}},
           {"window": [5, 10], "t_ranked_s": 11.8, "t_reloaded_s": 11.81, "ok": True, "serial": 4,
            "shares": {"c1": {"tra": 0.1, "trb": 0.9}}}]
    answers = [(0.5, "198.18.1.1"), (9.5, "198.18.1.1"), (19.5, "198.18.2.1")]
    t = event_timing("c1", 7.0, 30.0, log, answers, recovered_s=12.6)
    assert t == {"window_end_s": 3.0, "ranked_s": 4.8, "zone_s": 4.81, "answer_s": 12.5,
                 "recovered_s": 12.6}
    assert stage_summary({"c1": t, "c2": {**t, "zone_s": None}})["clients"] == 1
    none = event_timing("c1", 7.0, 30.0, log[:2], answers, None)
    assert none["zone_s"] is None and none["answer_s"] == 12.5  # the first new answer after the event
