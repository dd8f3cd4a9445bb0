"""PoP speakers without root: golden ExaBGP configs, ExaBGP's own validation,
and the export tags mapping each prefix to exactly the intended providers."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from anycastlab.model.addressing import plan_addresses
from anycastlab.config.bird import router_context
from anycastlab.errors import LabError
from anycastlab.config.render import render_template
from anycastlab.config.exabgp import speaker_context, speaker_plan, validate_config, write_speaker_files

GOLDEN = Path(__file__).parent / "tiny-speakers"


def fixed_render(topo, plan, pop: str) -> str:
    ctx = speaker_context(topo, plan, pop, python="/usr/bin/python3",
                          api_script="speakers/api.py", workdir=f"/RUN/e-{pop}")
    return render_template("exabgp.conf.j2", ctx)


def test_tiny_speakers_match_golden(tiny):
    plan = plan_addresses(tiny)
    for pop in tiny.cdn.cities:
        text = fixed_render(tiny, plan, pop)
        golden = GOLDEN / f"e-{pop}.conf"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        assert text == golden.read_text()


@pytest.mark.parametrize("name", ["tiny", "world"])
def test_every_speaker_config_accepted_by_exabgp(name, request, tmp_path):
    topo = request.getfixturevalue(name)
    plan = plan_addresses(topo)
    for pop in topo.cdn.cities:
        validate_config(write_speaker_files(topo, plan, pop, tmp_path / pop))


def test_exabgp_validation_rejects_a_broken_config(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("neighbor 10.0.0.1 {\n  local-as nonsense;\n}\n")
    with pytest.raises(LabError, match="ExaBGP rejected"):
        validate_config(bad)


def test_tiny_announcements(tiny):
    plan = plan_addresses(tiny)
    nyc = speaker_plan(tiny, plan, "nyc")["announcements"]
    lon = speaker_plan(tiny, plan, "lon")["announcements"]
    assert nyc["global"] == {"prefix": "198.18.0.0/24", "to": ["tra", "trb"],
                             "communities": ["64512:100:64600", "64512:100:64700"]}
    assert nyc["provider:trb"]["communities"] == ["64512:100:64700"]
    assert lon["global"]["to"] == ["tra"] and "provider:trb" not in lon
    assert lon["unicast"]["prefix"] == "198.19.2.0/24"


@pytest.mark.parametrize("name", ["tiny", "world"])
def test_tags_and_filters_map_each_prefix_to_exactly_its_providers(name, request):
    """Evaluate each border router's export rule (tag for that neighbour's ASN)
    against the speaker's tags: the providers that would receive each prefix
    must be exactly the intended ones."""
    topo = request.getfixturevalue(name)
    plan = plan_addresses(topo)
    for pop in topo.cdn.cities:
        ctx = router_context(topo, plan, plan.nodes[f"{topo.cdn.id}-{pop}"])
        sessions = {topo.routers[s["peer"]].asid: s["export_tag"] for s in ctx["ebgp"]}
        for name_, ann in speaker_plan(topo, plan, pop)["announcements"].items():
            tags = {int(c.split(":")[2]) for c in ann["communities"]}
            receivers = {asid for asid, tag in sessions.items() if tag in tags}
            if name_ in ("global", "unicast", "dns"):
                expected = set(plan.services.pop_providers[pop])
            else:
                expected = {name_.split(":", 1)[1]}
            assert receivers == expected, (pop, name_, receivers, expected)


def test_border_router_template_honours_tags(tiny):
    from anycastlab.config.bird import render_router

    plan = plan_addresses(tiny)
    text = render_router(tiny, plan, plan.nodes["cdn-nyc"])
    for asn in (64600, 64700):
        assert re.search(rf"\(MY_AS, 100, {asn}\) ~ bgp_large_community", text)
    assert "protocol bgp speaker" in text and "import where net ~ [ 198.18.0.0/15+ ]" in text
    assert "kernel table 101" in text and "route 0.0.0.0/0 via 100.64.0.10" in text
