"""`anycastlab simulate` against the lab it predicts, live: tiny and world
built with link variability off, every client probed (G, every P_k, every
U_p), its FIB paths walked and BIRD's decision read at every hop; the route
model must agree on every catchment, every request and reply path, RTT
within max(0.5 ms, 2 %) of the probes, and name the same deciding step."""
from __future__ import annotations

import pytest

from anycastlab.lab.lab import Lab
from anycastlab.measure import catchment, explain, paths
from anycastlab.model.addressing import client_router_name
from anycastlab.sim import explain as sim_explain
from anycastlab.sim.forward import simulate

pytestmark = pytest.mark.lab

HOP_KEYS = ("router", "asn", "city", "next_router", "pop")


def lab_name(target: str) -> str:
    """catchment.measure's target names: a bare provider id for P_k."""
    return target.split(":", 1)[1] if target.startswith("provider:") else target


@pytest.mark.parametrize("name", ["tiny", "world"])
def test_simulation_agrees_with_the_lab(request, name, tmp_path, record_property):
    topo = request.getfixturevalue(name)
    sim = simulate(topo, "exact")
    with Lab(topo, runs_dir=tmp_path, variability=False, dns_settings=None) as lab:
        sv = lab.plan.services
        addr = {t: sv.address(p) for t, p in [("global", sv.global_prefix),
                                              *sv.provider_prefixes.items(),
                                              *[(f"unicast:{c}", p) for c, p in sv.pop_prefixes.items()]]}
        rows = {r["client"]: r for r in catchment.measure(lab, include_unicast=True)}
        fib = paths.service_paths(lab, list(rows), addr)
        walks = {(c, t): explain.as_dicts(explain.walk(lab, client_router_name(topo.ases[c]), addr[t]))
                 for c in rows for t in addr if not t.startswith("unicast:")}

    checked, worst = 0, 0.0
    for c, row in rows.items():
        for target, o in sim.outcomes[c].items():
            t = lab_name(target)
            got = row["schemes"][t]
            assert got["pop"] == o.pop, f"{c} {t}: lab {got['pop']}, simulated {o.pop}"
            assert got["as_path"] == o.as_path, (c, t)
            req, rep = fib[(c, t)]
            assert [tuple(h) for h in o.request.hops] == [tuple(h) for h in req], (c, t)
            assert o.reply is not None and [tuple(h) for h in o.reply.hops] == [tuple(h) for h in rep]
            err = abs(got["rtt_ms"] - o.rtt_ms)
            assert err <= max(0.5, 0.02 * got["rtt_ms"]), f"{c} {t}: {got['rtt_ms']} vs {o.rtt_ms}"
            worst = max(worst, err)
            checked += 1
            if (c, t) in walks:
                mine = sim_explain.walk(sim, c, target)
                lab_walk = walks[(c, t)]
                assert [tuple(h[k] for k in HOP_KEYS) for h in mine] == \
                    [tuple(h[k] for k in HOP_KEYS) for h in lab_walk], (c, t)
                for m, h in zip(mine, lab_walk):
                    steps = {x["via"]: x["lost_on"] for x in h["candidates"]}
                    assert {x["via"]: x["lost_on"] for x in m["candidates"]} == steps, (c, t, h["router"])
    assert checked == len(rows) * len(addr)
    record_property("pairs", checked)
    record_property("worst_rtt_error_ms", round(worst, 3))
    print(f"\n{name}: {checked} client x prefix pairs agree; worst RTT error {worst:.3f} ms")
