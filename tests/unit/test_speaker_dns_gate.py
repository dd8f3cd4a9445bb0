"""The PoP speaker's DNS gate (speakers/api.py): the DNS prefix is announced
only while the PoP's own server answers; the other prefixes do not care.
The speaker script is loaded from its file; what it would tell ExaBGP is
read from stdout. (The lab test kills a real PowerDNS: tests/lab/test_dns_lab.py.)"""
from __future__ import annotations

import importlib.util
import socket

from anycastlab.config.exabgp import speaker_plan
from anycastlab.model.addressing import plan_addresses

from conftest import ROOT


def load_api():
    spec = importlib.util.spec_from_file_location("speaker_api", ROOT / "speakers" / "api.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_plan_carries_the_dns_check_only_with_anycast_dns(tiny):
    plan = plan_addresses(tiny)
    assert "dns_health" not in speaker_plan(tiny, plan, "nyc")
    assert speaker_plan(tiny, plan, "nyc", dns=True)["dns_health"] == {"target": "198.19.0.1", "port": 53}


def test_dns_prefix_follows_the_dns_check_alone(tiny, tmp_path, capsys):
    api = load_api()
    sp = api.Speaker(speaker_plan(tiny, plan_addresses(tiny), "nyc", dns=True), tmp_path / "speaker.log")
    sp.healthy = True
    sp.sync()
    out = capsys.readouterr().out
    assert "198.18.0.0/24" in out and "198.19.0.0/24" not in out      # G yes, D not yet
    sp.dns_ok = True
    sp.sync()
    assert "announce route 198.19.0.0/24" in capsys.readouterr().out
    sp.dns_ok = False
    sp.sync()
    assert capsys.readouterr().out.strip() == "withdraw route 198.19.0.0/24 next-hop self"
    assert "global" in sp.announced and "dns" not in sp.announced


def test_a_silent_dns_server_fails_the_check_after_fall(tiny, tmp_path):
    api = load_api()
    plan = speaker_plan(tiny, plan_addresses(tiny), "nyc", dns=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:   # bound, never answers
        silent.bind(("127.0.0.1", 0))
        plan["dns_health"] = {"target": "127.0.0.1", "port": silent.getsockname()[1]}
        sp = api.Speaker(plan, tmp_path / "speaker.log")
        sp.dns_ok = True
        h = {**plan["health"], "timeout": 0.05}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            sp.dns_health(s, h)
            assert sp.dns_ok                       # one failure is not yet 'fall'
            sp.dns_health(s, h)
            assert not sp.dns_ok and "dns health down" in (tmp_path / "speaker.log").read_text()
