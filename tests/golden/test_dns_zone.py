"""The rendered zone: golden file, exact integer weights, PowerDNS's own checker."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from anycastlab.config import powerdns
from anycastlab.lab import dns as labdns
from anycastlab.model import settings
from anycastlab.model.addressing import provider_addresses
from anycastlab.analysis.baseline import allocate
from anycastlab.model.settings import Steering

GOLDEN = Path(__file__).parent / "dns" / "cdn.lab.zone"
SHARES = {"c1": {"tra": 0.9, "trb": 0.1}, "c2": {"trb": 1.0}, "c3": {"tra": 0.333334, "trb": 0.666666}}


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
    zone = labdns.Zone([tmp_path], plan, "tiny", 10)
    zone.write(SHARES)
    res = subprocess.run(["pdnsutil", f"--config-dir={tmp_path}", "check-zone", settings.ZONE],
                         capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 errors" in res.stdout
