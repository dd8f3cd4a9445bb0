"""Topology validation: one test per bad-input case, and the latency model."""
from __future__ import annotations

import math

import pytest

from anycastlab.errors import InputError, TopologyError
from anycastlab.model.addressing import layout, plan_addresses
from anycastlab.model.topofile import load_topology
from anycastlab.model.topology import great_circle_km, link_latency, Settings, City

from conftest import TOPOLOGIES

TINY = (TOPOLOGIES / "tiny.yaml").read_text()


def load_text(write_topo, text: str):
    return load_topology(write_topo(text))


def expect_error(write_topo, text: str, *fragments: str, key: str | None = None,
                 line: int | None = None) -> TopologyError:
    with pytest.raises(InputError) as info:
        load_text(write_topo, text)
    err = info.value
    msg = str(err)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    assert err.fix, "every error must say how to fix it"
    assert err.file and err.file.endswith(".yaml")
    if key is not None:
        assert err.key == key, msg
    if line is not None:
        assert err.line == line, msg
    return err


def test_shipped_topologies_load(tiny, world):
    assert len(tiny.cdn.cities) == 2 and len(tiny.clients()) == 3 and len(tiny.transits()) == 2
    assert len(world.cdn.cities) >= 6 and len(world.clients()) >= 20
    assert len({world.routers[f"{c.id}-{c.cities[0]}"].city for c in world.clients()}) >= 10


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as info:
        load_topology(tmp_path / "nope.yaml")
    assert "not found" in str(info.value) and "nope.yaml" in str(info.value)


def test_yaml_syntax_error_names_line(write_topo):
    text = TINY.replace("  - {id: tra, asn: 64600,", "  - {id: tra, asn: [64600,")
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "[64600" in l)
    err = expect_error(write_topo, text, "YAML syntax error")
    assert err.line is not None and abs(err.line - line) <= 1


def test_unknown_key_names_key_and_line(write_topo):
    text = TINY.replace('role: transit, cities: [nyc, lon]}\n  - {id: trb',
                        'role: transit, colour: red, cities: [nyc, lon]}\n  - {id: trb')
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "colour" in l)
    expect_error(write_topo, text, "unknown key 'colour'", key="ases[1].colour", line=line)


def test_unknown_city(write_topo):
    text = TINY.replace("role: client, cities: [nyc]}", "role: client, cities: [par]}")
    expect_error(write_topo, text, "unknown city 'par'", "nyc, lon", key="ases[3].cities[0]")


def test_unknown_as_in_relationship(write_topo):
    text = TINY.replace("{provider: tra, customer: c1}", "{provider: trx, customer: c1}")
    expect_error(write_topo, text, "unknown AS 'trx'", key="relationships[3].provider")


def test_unknown_router_in_link(write_topo):
    text = TINY.replace("[c1-nyc, tra-nyc]", "[c1-lon, tra-nyc]")
    expect_error(write_topo, text, "unknown router 'c1-lon'", "<as id>-<city id>", key="links[7].a")


def test_duplicate_as_id(write_topo):
    text = TINY.replace("{id: c2, asn: 65002", "{id: c1, asn: 65002")
    expect_error(write_topo, text, "duplicate AS id 'c1'", key="ases[4].id")


def test_duplicate_city_id(write_topo):
    text = TINY.replace("{id: lon, name: London", "{id: nyc, name: London")
    expect_error(write_topo, text, "duplicate city id 'nyc'", key="cities[1].id")


def test_duplicate_asn(write_topo):
    text = TINY.replace("asn: 65002", "asn: 65001")
    expect_error(write_topo, text, "duplicate ASN 65001", "c1", key="ases[4].asn")


def test_link_to_itself(write_topo):
    text = TINY.replace("[c1-nyc, tra-nyc]", "[tra-nyc, tra-nyc]")
    expect_error(write_topo, text, "link from 'tra-nyc' to itself", key="links[7]")


def test_duplicate_link(write_topo):
    text = TINY.replace("[c1-nyc, tra-nyc]", "[c1-nyc, tra-nyc]\n  - [tra-nyc, c1-nyc]")
    expect_error(write_topo, text, "duplicate link", key="links[8]")


def test_negative_latency(write_topo):
    text = TINY.replace("[c1-nyc, tra-nyc]", "{a: c1-nyc, b: tra-nyc, latency_ms: -3}")
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "latency_ms: -3" in l)
    expect_error(write_topo, text, "greater than or equal to 0", key="links[7].latency_ms", line=line)


def test_client_with_no_provider(write_topo):
    text = TINY.replace("  - {provider: tra, customer: c1}\n", "").replace("  - [c1-nyc, tra-nyc]\n", "")
    expect_error(write_topo, text, "client AS 'c1' has no provider", key="ases[3]")


def test_cdn_with_no_pop(write_topo):
    text = TINY.replace('role: cdn, cities: [nyc, lon]}', 'role: cdn, cities: []}')
    expect_error(write_topo, text, "at least 1 item", key="ases[0].cities")


def test_cdn_missing(write_topo):
    text = TINY.replace("role: cdn,", "role: transit,")
    expect_error(write_topo, text, "exactly one is needed", key="ases")


def test_inter_as_link_without_relationship(write_topo):
    text = TINY.replace("[c2-lon, trb-lon]", "[c2-lon, trb-lon]\n  - [c1-nyc, trb-nyc]")
    expect_error(write_topo, text, "no relationship", key="links[9]")


def test_transit_split_in_two(write_topo):
    text = TINY.replace("  - [tra-nyc, tra-lon]\n", "")
    expect_error(write_topo, text, "transit AS 'tra' is split", key="ases[1]")


def test_client_that_cannot_reach_any_pop(write_topo):
    # an isolated regional carrier that neither reaches the CDN nor buys transit
    text = TINY.replace("ases:\n", "ases:\n  - {id: iso, asn: 64900, name: Island Net, role: transit, cities: [lon]}\n"
                        "  - {id: c9, asn: 65009, name: Stranded, role: client, cities: [lon]}\n")
    text = text.replace("relationships:\n", "relationships:\n  - {provider: iso, customer: c9}\n")
    text = text.replace("links:\n", "links:\n  - [c9-lon, iso-lon]\n")
    err = expect_error(write_topo, text, "client AS 'c9' cannot reach any CDN PoP", "valley-free")
    assert err.key == "ases[1]"


def test_reserved_as_id(write_topo):
    text = TINY.replace("{id: c1, asn: 65001", "{id: h, asn: 65001").replace("c1-nyc", "h-nyc")
    text = text.replace("customer: c1}", "customer: h}")
    expect_error(write_topo, text, "AS id 'h' is reserved", key="ases[3].id")


def test_topology_name_and_display_names(write_topo):
    expect_error(write_topo, TINY.replace("name: tiny", "name: my lab; $(reboot)"),
                 "should match pattern", key="name")
    expect_error(write_topo, TINY.replace('name: "Gotham Cable"', 'name: "Gotham \\"Cable"'),
                 "should match pattern", key="ases[3].name")


def test_unreadable_file(tmp_path):
    p = tmp_path / "latin1.yaml"
    p.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_topology(p)


def test_wrong_type_and_bad_role(write_topo):
    expect_error(write_topo, TINY.replace("role: client, cities: [nyc]", "role: eyeball, cities: [nyc]"),
                 "'cdn', 'transit' or 'client'", key="ases[3].role")


def test_top_level_not_mapping(write_topo):
    expect_error(write_topo, "- just\n- a list\n", "mapping")


def test_great_circle_hand_computed():
    # London (51.5072, -0.1276) to New York (40.7128, -74.0060): the haversine
    # formula by hand gives 5570.2 km; one degree of longitude on the equator
    # is 2*pi*6371/360 = 111.195 km.
    assert great_circle_km(51.5072, -0.1276, 40.7128, -74.0060) == pytest.approx(5570.24, abs=0.05)
    assert great_circle_km(0, 0, 0, 1) == pytest.approx(2 * math.pi * 6371 / 360, rel=1e-9)
    assert great_circle_km(10, 20, 10, 20) == 0


def test_link_latency_formula():
    s = Settings()
    lon = City("lon", "London", 51.5072, -0.1276)
    nyc = City("nyc", "New York", 40.7128, -74.0060)
    # 5570.24 km * 1.5 / 200 km/ms + 0.1 ms = 41.877 ms one way
    assert link_latency(s, lon, nyc) == pytest.approx(41.877, abs=0.001)
    assert link_latency(s, lon, lon) == s.intra_city_ms == 0.5
    s2 = Settings(path_inflation=2.0, per_hop_ms=0.0)
    assert link_latency(s2, lon, nyc) == pytest.approx(5570.24 * 2 / 200, abs=0.001)


def test_latency_override_is_used(write_topo):
    text = TINY.replace("[tra-nyc, tra-lon]", "{a: tra-nyc, b: tra-lon, latency_ms: 33.3}")
    topo = load_text(write_topo, text)
    link = next(lk for lk in topo.links if {lk.a, lk.b} == {"tra-nyc", "tra-lon"})
    assert link.latency_ms == 33.3 and link.overridden


def test_valley_free_reach_tiny(tiny):
    # c2 (behind B) reaches A's customers through the A--B peering, and the CDN
    assert tiny.valley_free_reach("c2") == {"trb", "tra", "cdn", "c1", "c3"}
    # a provider never carries traffic between its two providers: c3 is not transit
    assert tiny.relation("c3", "tra") == "provider" and tiny.relation("tra", "c3") == "customer"


def test_ibgp_groups(tiny):
    assert tiny.ibgp_groups("tra") == [["tra-nyc", "tra-lon"]]
    assert tiny.ibgp_groups("cdn") == [["cdn-nyc"], ["cdn-lon"]]


def test_a_circle_of_providers_is_refused(write_topo):
    text = TINY.replace("  - {provider: tra, customer: c3}\n",
                        "  - {provider: tra, customer: c3}\n  - {provider: c3, customer: c2}\n"
                        "  - {provider: c2, customer: tra}\n")
    text = text.replace("  - [c3-lon, trb-lon]\n", "  - [c3-lon, trb-lon]\n  - [c3-lon, c2-lon]\n"
                        "  - [c2-lon, tra-lon]\n")
    expect_error(write_topo, text, "go round in a circle", "c2 -> tra -> c3 -> c2")


def test_physical_bounds(write_topo):
    expect_error(write_topo, TINY.replace("  - [c1-nyc, tra-nyc]", "  - {a: c1-nyc, b: tra-nyc, latency_ms: 1e9}"),
                 "latency_ms", key="links[7].latency_ms")
    expect_error(write_topo, TINY.replace("name: tiny\n", "name: tiny\nsettings: {lan_ms: 5000}\n"),
                 "lan_ms", key="settings.lan_ms")


def test_interface_names_and_the_address_plan_have_limits(write_topo):
    # a client with a 6-char id in a 4-char city: 'abcdef-lond' is 11 characters; its
    # 12th interface would be 'abcdef-lond-e11' (15), its 102nd 'abcdef-lond-e101' (16)
    cities = "".join(f"  - {{id: t{i:03d}, name: T{i}, lat: 1, lon: 1}}\n" for i in range(101))
    ases = "".join(f"  - {{id: x{i:03d}, asn: {66000 + i}, name: X{i}, role: client, cities: [t{i:03d}]}}\n"
                   for i in range(101))
    rels = "".join(f"  - {{provider: abcdef, customer: x{i:03d}}}\n" for i in range(101))
    links = "".join(f"  - [abcdef-lond, x{i:03d}-t{i:03d}]\n" for i in range(101))
    text = f"""name: big
cities:
  - {{id: lond, name: London, lat: 51.5, lon: -0.1}}
{cities}ases:
  - {{id: cdn, asn: 64512, name: CDN, role: cdn, cities: [lond]}}
  - {{id: abcdef, asn: 64600, name: A, role: transit, cities: [lond]}}
{ases}relationships:
  - {{provider: abcdef, customer: cdn}}
{rels}links:
  - [cdn-lond, abcdef-lond]
{links}"""
    expect_error(write_topo, text, "router 'abcdef-lond' has 102 links", "15 characters")


def test_an_as_with_more_routers_than_an_octet_gets_the_wide_address_plan(write_topo):
    cities = "".join(f"  - {{id: c{i:03d}, name: C{i}, lat: 1, lon: 1}}\n" for i in range(255))
    ids = ", ".join(f"c{i:03d}" for i in range(255))
    backbone = "".join(f"  - [t-c{i:03d}, t-c{i + 1:03d}]\n" for i in range(254))
    text = f"""name: wide
cities:
{cities}ases:
  - {{id: cdn, asn: 64512, name: CDN, role: cdn, cities: [c000]}}
  - {{id: t, asn: 64600, name: T, role: transit, cities: [{ids}]}}
  - {{id: x, asn: 65001, name: X, role: client, cities: [c001]}}
relationships:
  - {{provider: t, customer: cdn}}
  - {{provider: t, customer: x}}
links:
  - [cdn-c000, t-c000]
  - [x-c001, t-c001]
{backbone}"""
    topo = load_topology(write_topo(text))
    plan = plan_addresses(topo)
    assert layout(topo) == "wide"
    sites = [n.site_prefix for n in plan.routers()]
    assert len(set(sites)) == len(sites) == 257
    # routers numbered across the topology in file order: the 256th is 10.1.0.0/24
    assert sites[0] == "10.0.1.0/24" and sites[255] == "10.1.0.0/24" and sites[256] == "10.1.1.0/24"
    assert len({n.loopback for n in plan.routers()}) == 257


def test_the_address_plan_refuses_what_overflows_it_with_a_fix():
    from types import SimpleNamespace

    from anycastlab.errors import TopologyError
    from anycastlab.model.addressing import MAX_LINKS, MAX_ROUTERS, plan_limits

    big = SimpleNamespace(routers=dict.fromkeys(range(MAX_ROUTERS + 1)), links=[None] * (MAX_LINKS + 1),
                          ases={}, path="big.yaml")
    msgs = plan_limits(big)
    assert [k for k, _, _ in msgs] == ["routers", "links"]
    assert "65536 routers; the address plan holds 65,535" in msgs[0][1] and "fewer routers" in msgs[0][2]
    with pytest.raises(TopologyError, match="holds 65,535"):
        plan_addresses(big)  # type: ignore[arg-type]
    fits = SimpleNamespace(routers=dict.fromkeys(range(MAX_ROUTERS)), links=[], ases={}, path="x")
    assert plan_limits(fits) == []


def test_small_topologies_keep_the_compact_plan_that_names_the_as():
    topo = load_topology(TOPOLOGIES / "world.yaml")
    plan = plan_addresses(topo)
    assert layout(topo) == "compact"
    t1a = topo.ases["t1a"]
    assert plan.nodes["t1a-ash"].site_prefix == f"10.{t1a.index}.1.0/24"
