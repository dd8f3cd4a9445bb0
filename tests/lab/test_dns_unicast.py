"""Unicast authoritative DNS, the option beside anycast: one PowerDNS in the
DNS node behind the first PoP's router, reached over the lab's BGP routes."""
from __future__ import annotations

import json
import sys

import pytest

from anycastlab.lab.lab import Lab
from anycastlab.model import settings
from anycastlab.model.addressing import DNS_HOST

pytestmark = pytest.mark.lab


def test_unicast_dns_stays_an_option(tiny, tmp_path_factory):
    other = Lab(tiny, runs_dir=tmp_path_factory.mktemp("runs"),
                dns_settings=settings.DnsSettings(server="unicast"))
    with other:
        assert other.dns.address == other.plan.services.dns_address
        running = {d.node for d in other.record.daemons() if d.name == "pdns" and d.alive()}
        assert running == {DNS_HOST}
        got = json.loads(other.run("h-c2", [sys.executable, "-m", "anycastlab.agents.resolver",
                                             other.dns.address, settings.NAMES["global"], "3"], timeout=60))
        assert got["failed"] == 0 and set(got["servers"]) == {"dns"}
