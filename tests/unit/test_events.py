"""Timeline events: resolution against the topology (no root, no lab)."""
from __future__ import annotations


import pytest

from anycastlab.model.events import Event, EventError, resolve

PROVIDERS = ["tra", "trb"]


@pytest.mark.parametrize("raw, key, fragment", [
    ({"kind": "explode"}, "kind", "unknown event kind"),
    ({"kind": "cut", "at_s": -1, "links": [["c1-nyc", "tra-nyc"]]}, "at_s", ">= 0"),
    ({"kind": "cut", "links": [["c1-nyc", "trb-nyc"]]}, "links", "no link between"),
    ({"kind": "cut"}, "links", "needs 'links"),
    ({"kind": "cut", "between": ["nyc", "par"]}, "between", "unknown city 'par'"),
    ({"kind": "pop-down", "pop": "par"}, "pop", "unknown PoP"),
    ({"kind": "pop-down", "pop": "nyc", "mode": "nuke"}, "mode", "unknown mode"),
    ({"kind": "provider-down", "provider": "c1"}, "provider", "not a provider of the CDN"),
    ({"kind": "depeer", "ases": ["tra", "c1"]}, "ases", "do not peer"),
    ({"kind": "latency", "link": ["tra-nyc", "tra-lon"]}, "one_way_ms", "one_way_ms"),
    ({"kind": "cut", "links": [["c1-nyc", "tra-nyc"]], "colour": "red"}, "colour", "unknown key"),
    ({"kind": "congest", "link": ["c1-nyc", "tra-nyc"]}, "mean_ms", "needs mean_ms"),
    ({"kind": "congest", "link": ["c1-nyc", "tra-nyc"], "mean_ms": -3}, "mean_ms", "bad congestion"),
    ({"kind": "congest", "link": ["c1-nyc", "tra-nyc"], "mean_ms": 5, "loss": 0.9}, "loss", "bad congestion"),
    ({"kind": "congest", "link": ["c1-nyc", "trb-nyc"], "mean_ms": 5}, "link", "no link between"),
    ({"kind": "decongest", "link": ["c1-nyc", "tra-nyc"], "loss": 0.1}, "loss", "only 'link'"),
])
def test_rejections(tiny, raw, key, fragment):
    res = resolve(raw, tiny, PROVIDERS)
    assert isinstance(res, EventError) and res.key == key and fragment in res.message and res.fix


def test_between_finds_every_link_of_a_cable_route(tiny):
    ev = resolve({"kind": "cut", "at_s": 5, "between": ["lon", "nyc"]}, tiny, PROVIDERS)
    assert isinstance(ev, Event) and ev.at_s == 5
    assert set(ev.links) == {("tra-nyc", "tra-lon"), ("trb-nyc", "trb-lon")}
    assert "2 links" in ev.label


def test_latency_back_to_nominal(tiny):
    ev = resolve({"kind": "latency", "link": ["tra-nyc", "tra-lon"], "one_way_ms": "nominal"},
                 tiny, PROVIDERS)
    lk = next(x for x in tiny.links if {x.a, x.b} == {"tra-nyc", "tra-lon"})
    assert ev.one_way_ms == lk.latency_ms > 20
    bad = resolve({"kind": "latency", "link": ["tra-nyc", "tra-lon"], "one_way_ms": "slow"},
                  tiny, PROVIDERS)
    assert bad.key == "one_way_ms" and "nominal" in bad.fix


def test_depeer_sessions(tiny):
    ev = resolve({"kind": "depeer", "ases": ["tra", "trb"]}, tiny, PROVIDERS)
    assert isinstance(ev, Event) and ev.ases == ("tra", "trb")




def test_congest_and_decongest(tiny):
    ev = resolve({"kind": "congest", "at_s": 3, "link": ["c1-nyc", "tra-nyc"], "mean_ms": 20, "sd_ms": 10,
                  "loss": 0.01}, tiny, PROVIDERS)
    assert isinstance(ev, Event) and ev.links == (("c1-nyc", "tra-nyc"),)
    assert (ev.variability.mean_ms, ev.variability.sd_ms, ev.variability.loss) == (20, 10, 0.01)
    assert "congest c1-nyc–tra-nyc" in ev.label
    back = resolve({"kind": "decongest", "link": ["c1-nyc", "tra-nyc"]}, tiny, PROVIDERS)
    assert isinstance(back, Event) and back.variability is None


def test_only_route_changing_events_make_the_load_model_reread_paths():
    from anycastlab.model.events import moves_routes

    assert all(moves_routes(k) for k in ("cut", "restore", "pop-down", "provider-up", "depeer"))
    assert not any(moves_routes(k) for k in ("congest", "decongest", "latency", "dns-down"))
