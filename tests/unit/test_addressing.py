"""The address plan is deterministic, collision-free and inside its blocks."""
from __future__ import annotations

import ipaddress

from anycastlab.model.addressing import LINK_BLOCK, SERVICE_BLOCK, plan_addresses


def all_addresses(plan):
    out = []
    for n in plan.nodes.values():
        if n.loopback:
            out.append(n.loopback)
        out += [i.ip for i in n.interfaces]
    return out


def test_tiny_plan_by_hand(tiny):
    plan = plan_addresses(tiny)
    # AS order in the file: cdn=1, tra=2, trb=3, c1=4; router n of an AS -> 10.<as>.<n>.0/24
    assert plan.nodes["cdn-nyc"].loopback == "10.1.1.1"
    assert plan.nodes["cdn-lon"].site_prefix == "10.1.2.0/24"
    assert plan.nodes["tra-lon"].loopback == "10.2.2.1"
    # link 0 (tra-nyc -- tra-lon) is 100.64.0.0/30
    i = plan.interface("tra-nyc", "tra-lon")
    assert (i.name, i.cidr, i.peer_ip) == ("tra-nyc-e0", "100.64.0.1/30", "100.64.0.2")
    # client host on the router's LAN
    h = plan.nodes["h-c1"]
    assert h.kind == "host" and h.gateway == "10.4.1.129" and h.interfaces[0].cidr == "10.4.1.130/25"
    assert plan.services.global_prefix == "198.18.0.0/24"
    assert plan.services.provider_prefixes == {"tra": "198.18.1.0/24", "trb": "198.18.2.0/24"}
    assert plan.services.pop_prefixes == {"nyc": "198.19.1.0/24", "lon": "198.19.2.0/24"}
    assert plan.services.address("198.18.2.0/24") == "198.18.2.1"


def test_plan_is_deterministic(world):
    a, b = plan_addresses(world), plan_addresses(world)
    assert all_addresses(a) == all_addresses(b)


def test_no_collisions_and_blocks(world):
    plan = plan_addresses(world)
    addrs = all_addresses(plan)
    assert len(addrs) == len(set(addrs))
    for n in plan.nodes.values():
        for i in n.interfaces:
            ip = ipaddress.ip_address(i.ip)
            assert ip in LINK_BLOCK or ip in ipaddress.ip_network(n.site_prefix)
            assert len(i.name) <= 15, i.name
            peer = plan.nodes[i.peer_node]
            assert any(p.ip == i.peer_ip and p.name == i.peer_intf for p in peer.interfaces)
    for p in [plan.services.global_prefix, *plan.services.provider_prefixes.values(),
              *plan.services.pop_prefixes.values()]:
        assert ipaddress.ip_network(p).subnet_of(SERVICE_BLOCK)


def test_mac_addresses_are_unique_deterministic_and_locally_administered(world):
    from anycastlab.model.addressing import mac_addresses

    macs = mac_addresses(plan_addresses(world))
    intfs = [i.name for n in plan_addresses(world).nodes.values() for i in n.interfaces]
    assert sorted(macs) == sorted(intfs)
    assert len(set(macs.values())) == len(macs)
    assert all(m.startswith("02:") for m in macs.values())  # locally administered, unicast
    assert mac_addresses(plan_addresses(world)) == macs


def test_every_node_script_writes_its_links_far_ends_as_permanent_neighbours(world):
    from anycastlab.lab.nodes import node_script
    from anycastlab.model.addressing import mac_addresses

    plan = plan_addresses(world)
    macs = mac_addresses(plan)
    node = plan.nodes["t1a-ash"]
    script = node_script(node, mac=macs)
    for i in node.interfaces:
        assert f"neigh replace {i.peer_ip} lladdr {macs[i.peer_intf]} dev {i.name} nud permanent" in script
    assert script.count("\nEOF") == 1 and script.startswith("sysctl -qw ")
