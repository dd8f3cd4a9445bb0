"""world.yaml as root: global anycast sends a real share of clients to a PoP
that is not their lowest-RTT one, as a consequence of policy (not tuned)."""
from __future__ import annotations

import pytest

from anycastlab.measure import catchment

from anycastlab.measure import explain
from anycastlab.lab.lab import Lab

pytestmark = pytest.mark.lab


def test_world_global_anycast_is_not_nearest(world, tmp_path, record_property):
    with Lab(world, runs_dir=tmp_path) as lab:
        rows = catchment.measure(lab, include_unicast=True)
        g = lab.plan.services.address(lab.plan.services.global_prefix)
        off = []
        for r in rows:
            assert r["schemes"]["global"]["pop"] is not None, f"{r['client']} lost G"
            ref = catchment.reference_pop(r)
            if r["schemes"]["global"]["pop"] != ref:
                off.append(r["client"])
                # policy, not chance: BIRD's own best path ends at the PoP that answered
                hops = explain.walk(lab, f"{r['client']}-{r['city']}", g)
                assert hops[-1].pop == r["schemes"]["global"]["pop"]
    share = len(off) / len(rows)
    record_property("global_not_lowest_rtt_share", round(share, 3))
    print(f"\nworld: global anycast sends {len(off)}/{len(rows)} clients ({share:.0%}) to a PoP "
          f"other than their lowest-RTT PoP: {', '.join(off)}")
    assert 0 < share < 1
