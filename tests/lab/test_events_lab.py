"""Timeline events applied to a running tiny lab (root)."""
from __future__ import annotations

import time

import pytest

from anycastlab.measure import catchment
from anycastlab.model.events import apply, resolve, sessions_between

PROVIDERS = ["tra", "trb"]


def g_pop(lab, client: str, name: str = "global") -> str | None:
    sv = lab.plan.services
    addr = sv.address(sv.global_prefix if name == "global" else sv.provider_prefixes[name])
    return catchment.probe_from(lab, f"h-{client}", {"t": addr}, timeout=0.5, tries=1)["t"]["pop"]


def until(cond, timeout: float = 20) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "condition not reached"
        time.sleep(0.1)


@pytest.mark.lab
def test_provider_down_and_up(lab):
    """provider-down makes P_k unreachable while G and the other P_j answer."""
    down = resolve({"kind": "provider-down", "provider": "trb"}, lab.topo, PROVIDERS)
    up = resolve({"kind": "provider-up", "provider": "trb"}, lab.topo, PROVIDERS)
    assert len(sessions_between(lab, "cdn", "trb")) == 2  # one per side at nyc
    apply(lab, down)
    try:
        until(lambda: g_pop(lab, "c2", "trb") is None)
        for c in ("c1", "c2", "c3"):
            assert g_pop(lab, c) is not None and g_pop(lab, c, "tra") is not None
    finally:
        apply(lab, up)
    until(lambda: g_pop(lab, "c2", "trb") == "nyc")


@pytest.mark.lab
@pytest.mark.parametrize("mode", ["withdraw", "responder"])
def test_pop_down_moves_clients_and_pop_up_returns_them(lab, mode):
    before = {c: g_pop(lab, c) for c in ("c1", "c2", "c3")}
    assert before["c1"] == "nyc"
    apply(lab, resolve({"kind": "pop-down", "pop": "nyc", "mode": mode}, lab.topo, PROVIDERS))
    try:
        until(lambda: g_pop(lab, "c1") == "lon" and g_pop(lab, "c2") == "lon")
    finally:
        apply(lab, resolve({"kind": "pop-up", "pop": "nyc", "mode": mode}, lab.topo, PROVIDERS))
    until(lambda: {c: g_pop(lab, c) for c in before} == before)


@pytest.mark.lab
def test_cut_and_restore_move_a_multihomed_client(lab):
    """c3 reaches G in London through A; cut that link and it goes through B
    to New York; restore brings the original catchment back."""
    assert g_pop(lab, "c3") == "lon"
    cut = resolve({"kind": "cut", "links": [["c3-lon", "tra-lon"]]}, lab.topo, PROVIDERS)
    apply(lab, cut)
    try:
        until(lambda: g_pop(lab, "c3") == "nyc")
    finally:
        apply(lab, resolve({"kind": "restore", "links": [["c3-lon", "tra-lon"]]}, lab.topo, PROVIDERS))
    until(lambda: g_pop(lab, "c3") == "lon", timeout=40)


@pytest.mark.lab
def test_depeer_closes_peering_sessions(lab):
    apply(lab, resolve({"kind": "depeer", "ases": ["tra", "trb"]}, lab.topo, PROVIDERS))
    try:
        for router, proto in sessions_between(lab, "tra", "trb"):
            assert "Established" not in lab.birdc(router).command(f"show protocols {proto}")
        # c2 sits behind B, which has no provider: without the peering, P_tra
        # (announced to A only) is out of its reach
        until(lambda: g_pop(lab, "c2", "tra") is None)
    finally:
        apply(lab, resolve({"kind": "repeer", "ases": ["tra", "trb"]}, lab.topo, PROVIDERS))
    until(lambda: g_pop(lab, "c2", "tra") == "lon", timeout=40)
