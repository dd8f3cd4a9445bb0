"""PoPs as root on tiny.yaml: real ExaBGP speakers, responders, BIRD; the
catchment measured with packets and checked against BIRD hop by hop."""
from __future__ import annotations

import time

import pytest

from anycastlab.measure import catchment

from anycastlab.measure import explain
from anycastlab.model.addressing import client_router_name

pytestmark = pytest.mark.lab


def pop_of(lab, client: str, target: str) -> str | None:
    return catchment.probe_from(lab, f"h-{client}", {"t": target}, timeout=0.5, tries=1)["t"]["pop"]


def wait_for(cond, timeout: float, step: float = 0.05) -> float:
    """Seconds until cond() holds; fails the test after timeout."""
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "condition not reached in time"
        time.sleep(step)
    return time.monotonic() - t0


def test_global_catchment_equals_bird_best_path(lab):
    """The PoP that answers G equals the end of the best path read hop by hop
    from `show route ... all` at every router on the way."""
    g = lab.plan.services.address(lab.plan.services.global_prefix)
    rows = {r["client"]: r for r in catchment.measure(lab)}
    for c in lab.topo.clients():
        hops = explain.walk(lab, client_router_name(c), g)
        assert hops[-1].pop is not None, f"walk from {c.id} did not end at a PoP"
        assert rows[c.id]["schemes"]["global"]["pop"] == hops[-1].pop, c.id
    # the lesson of tiny: c2 in London is served from New York by policy
    assert rows["c2"]["schemes"]["global"]["pop"] == "nyc"
    assert rows["c2"]["schemes"]["tra"]["pop"] == "lon"


def test_provider_prefixes_reachable_and_carried_by_their_provider(lab):
    rows = catchment.measure(lab)
    for k in lab.plan.services.provider_prefixes:
        asn = lab.topo.ases[k].asn
        for r in rows:
            v = r["schemes"][k]
            assert v["pop"] is not None, f"P_{k} unreachable from {r['client']}"
            assert asn in v["as_path"], f"P_{k} at {r['client']} does not go through {k}: {v['as_path']}"


def test_provider_prefix_reaches_other_providers_only_through_k(lab):
    """P_k is announced by the CDN to k alone: no other provider has a route to
    it learned from the CDN directly; every route they hold goes through k."""
    cdn = lab.topo.cdn.asn
    for k, prefix in lab.plan.services.provider_prefixes.items():
        kasn = lab.topo.ases[k].asn
        for j in lab.topo.transits():
            if j.id == k:
                continue
            for r in lab.topo.routers_of(j.id):
                routes = explain.parse_routes(lab.birdc(r.name).command(f"show route for {prefix} all"))
                for route in routes:
                    assert route.as_path[-1:] == [cdn] and kasn in route.as_path, (r.name, route.as_path)
                    assert route.as_path != [cdn], f"{r.name} learned P_{k} from the CDN directly"
        # and the CDN's border routers export it to k only
        for pop in lab.topo.cdn.cities:
            router = f"{lab.topo.cdn.id}-{pop}"
            for other in lab.plan.services.pop_providers[pop]:
                peer = next(i.peer_node for i in lab.plan.nodes[router].interfaces
                            if lab.plan.nodes[i.peer_node].asid == other)
                text = lab.birdc(router).command(f"show route export ebgp_{peer.replace('-', '_')}")
                assert (prefix.split("/")[0] in text) == (other == k), (router, other, prefix)


def test_replies_from_provider_prefix_leave_through_that_provider(lab):
    """c1 sits behind A; it reaches P_B at the New York PoP through A's peering
    with B. The best path back from New York to c1 is via A, yet replies from
    P_B must leave through B; replies from G follow the best path (via A)."""
    router, sv = "cdn-nyc", lab.plan.services
    p_b, g = sv.address(sv.provider_prefixes["trb"]), sv.address(sv.global_prefix)
    to_a = lab.plan.interface(router, "tra-nyc").name
    to_b = lab.plan.interface(router, "trb-nyc").name
    lab.run(router, ["iptables", "-t", "mangle", "-N", "ACL_COUNT"])
    lab.run(router, ["iptables", "-t", "mangle", "-I", "FORWARD", "-p", "udp", "--sport", "7777",
                     "-j", "ACL_COUNT"])
    for intf in (to_a, to_b):
        for src in (p_b, g):
            lab.run(router, ["iptables", "-t", "mangle", "-A", "ACL_COUNT", "-s", src, "-o", intf])
    assert pop_of(lab, "c1", p_b) == "nyc"
    for _ in range(5):
        assert pop_of(lab, "c1", p_b) == "nyc" and pop_of(lab, "c1", g) == "nyc"
    out = lab.run(router, ["iptables", "-t", "mangle", "-nvxL", "ACL_COUNT"])
    rows = {}
    for line in out.splitlines()[2:]:  # pkts bytes [target] prot opt in out source destination
        f = line.split()
        src = next(x for x in f if x in (p_b, g))
        intf = next(x for x in f if x in (to_a, to_b))
        rows[(src, intf)] = int(f[0])
    assert rows[(p_b, to_b)] >= 6 and rows[(p_b, to_a)] == 0, out
    assert rows[(g, to_a)] >= 5 and rows[(g, to_b)] == 0, out


def test_withdraw_and_announce_global_moves_clients(lab, record_property):
    g = lab.plan.services.address(lab.plan.services.global_prefix)
    assert pop_of(lab, "c1", g) == "nyc"
    lab.speaker("nyc").withdraw("global")
    try:
        moved = wait_for(lambda: pop_of(lab, "c1", g) == "lon", timeout=15)
        assert pop_of(lab, "c2", g) == "lon"
    finally:
        lab.speaker("nyc").announce("global")
    back = wait_for(lambda: pop_of(lab, "c1", g) == "nyc", timeout=15)
    wait_for(lambda: pop_of(lab, "c2", g) == "nyc", timeout=15)
    record_property("withdraw_move_s", round(moved, 2))
    record_property("announce_back_s", round(back, 2))
    print(f"\nG withdrawn at nyc: c1 moved to lon in {moved:.2f} s; re-announced: back in {back:.2f} s")


def test_dead_responder_withdraws_its_pop(lab, record_property):
    g = lab.plan.services.address(lab.plan.services.global_prefix)
    h = lab.health
    bound = h.fall * h.interval + h.timeout
    has_route = lambda: "speaker" in lab.birdc("cdn-nyc").command(f"show route for {g} all")  # noqa: E731
    assert has_route()
    t0 = time.monotonic()
    lab.stop_responder("nyc")
    try:
        wait_for(lambda: not has_route(), timeout=bound + 2.0, step=0.02)
        took = time.monotonic() - t0
        assert took <= bound + 0.5, f"withdrawal took {took:.2f} s; health check bound {bound:.2f} s"
        assert lab.speaker("nyc").status()["healthy"] is False
        assert pop_of(lab, "c1", g) in ("lon", None)
    finally:
        lab.start_responder("nyc")
    wait_for(has_route, timeout=bound + 5)
    wait_for(lambda: pop_of(lab, "c1", g) == "nyc", timeout=15)
    record_property("health_withdraw_s", round(took, 2))
    print(f"\nresponder killed at nyc: BGP route withdrawn at the border after {took:.2f} s "
          f"(bound {bound:.2f} s)")
