"""report.html opens with the answer (report/page.py, report/answer.py):
the schemes side by side, the paragraph and the key plots first; every
detail table after them, folded in a <details> with a summary line; the
page self-contained. report.md opens the same way, in plain text."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from anycastlab.analysis.runs import analyse_run
from anycastlab.model.settings import Steering
from anycastlab.report import write as report
from anycastlab.report.schema import SCHEMA_VERSION

from conftest import DATA

T0 = 1_800_000_000.0
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32   # enough to be inlined; the plots have their own tests


@pytest.fixture(autouse=True)
def quick_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each plot a small file named as the real one (drawing is most of the time)."""
    from anycastlab.report import plots, timeplots

    def stub(*args: object, **kw: object) -> Path:
        out = next(a for a in args if isinstance(a, Path))
        out.write_bytes(PNG + out.stem.encode())
        return out
    for mod, names in ((plots, ("cdf", "catchment_map", "wan_heatmap", "load_plot")),
                       (timeplots, ("rtt_over_time", "loss_strip", "shares_over_time"))):
        for n in names:
            monkeypatch.setattr(mod, n, stub)


class Outline(HTMLParser):
    """What the page shows in order: headings, tables, images and summaries,
    each with whether it sits inside a <details>."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.items: list[tuple[str, str, bool]] = []   # (kind, text or src, folded)
        self.text: list[str] | None = None
        self.kind = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details":
            self.depth += 1
        elif tag in ("h1", "h2", "h3", "summary", "th", "p", "li"):
            self.text, self.kind = [], tag
        elif tag == "table":
            self.items.append(("table", "", self.depth > 0))
        elif tag == "img":
            self.items.append(("img", dict(attrs).get("src") or "", self.depth > 0))
        elif tag in ("script", "link", "iframe"):
            self.items.append((tag, "", self.depth > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            self.depth -= 1
        elif self.text is not None and tag == self.kind:
            self.items.append((tag, "".join(self.text).strip(), self.depth > 0))
            self.text = None

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)


def outline(html: str) -> list[tuple[str, str, bool]]:
    p = Outline()
    p.feed(html)
    assert p.depth == 0, "a <details> is not closed"
    return p.items


def first(items: list[tuple[str, str, bool]], kind: str, starts: str = "") -> int:
    return next(i for i, (k, t, _) in enumerate(items) if k == kind and t.startswith(starts))


def at_rest() -> dict:
    data = json.loads((DATA / "report-a.json").read_text())
    data["schema_version"] = SCHEMA_VERSION
    return data


def test_at_rest_the_page_opens_with_the_schemes_the_paragraph_and_the_plots(tiny, tmp_path: Path) -> None:
    paths = report.write(tmp_path, at_rest(), tiny)
    html = paths["html"].read_text()
    items = outline(html)
    side = first(items, "h2", "The schemes side by side")
    details = first(items, "h2", "Details")
    tables = [i for i, (k, _, folded) in enumerate(items) if k == "table"]
    # one table unfolded, the summary, right under its heading; every other one folded, after Details
    assert [i for i in tables if not items[i][2]] == [side + 1]
    assert all(i > details for i in tables[1:])
    lede = first(items, "p", "IPA's median request took")
    imgs = [i for i, (k, _, _) in enumerate(items) if k == "img"]
    key = [i for i in imgs if not items[i][2]]
    assert side < lede < key[0] and key[-1] < details
    key_stems = [paths_by_src(paths, items[i][1]) for i in key]
    assert key_stems == ["map", "rtt-cdf"]
    summaries = [t for k, t, _ in items if k == "summary"]
    assert any(s.startswith("Per client network (2)") for s in summaries)
    assert any(s.startswith("Provider ranking per network") for s in summaries)
    assert any(s.startswith("More plots: WAN scores") for s in summaries)


def paths_by_src(paths: dict[str, Path], src: str) -> str:
    """The plot a data URI inlines (the stub writes its stem after the PNG magic)."""
    import base64

    raw = base64.b64decode(src.split(",", 1)[1])
    return raw[len(PNG):].decode()


def test_the_page_is_self_contained_and_shows_each_plot_once(tiny, tmp_path: Path) -> None:
    paths = report.write(tmp_path, at_rest(), tiny)
    html = paths["html"].read_text()
    items = outline(html)
    assert not [k for k, _, _ in items if k in ("script", "link", "iframe")]
    srcs = [t for k, t, _ in items if k == "img"]
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    pngs = sorted(p.stem for p in tmp_path.glob("*.png"))
    assert sorted(paths_by_src(paths, s) for s in srcs) == pngs   # every plot, each once
    assert "http://" not in html and "https://" not in html


def test_report_md_opens_with_the_answer_too(tiny, tmp_path: Path) -> None:
    md = report.write(tmp_path, at_rest(), tiny)["md"].read_text().splitlines()
    short, details = md.index("## In short"), md.index("## Details")
    assert md[short + 2].startswith("| scheme | median ms")
    assert any(x.startswith("IPA's median request took") for x in md[short:details])
    assert md[short:details].count("![Catchment maps](map.png)") == 1
    assert md.index("### Per client network") > details
    assert md.count("![Catchment maps](map.png)") == 1 and "![WAN scores and IPA shares](wan.png)" in md


def timeline_data(tiny) -> dict:
    """Three networks, provider tra dies at 10 s: a timeline with two phases and one event."""
    rows = []
    for c in ("c1", "c2", "c3"):
        for i in range(300):
            t = round(-6.0 + i * 0.1, 3)
            rows.append({"t": T0 + t, "client": c, "target": "198.18.0.1", "scheme": "global",
                         "proto": "udp", "rtt_ms": 5.0, "pop": "lon"})
            a = 10.0 if t < 10 else None
            rows.append({"t": T0 + t + 0.01, "client": c, "target": "198.18.1.1", "scheme": "provider:tra",
                         "proto": "udp", "rtt_ms": a, "pop": "nyc" if a else None})
            rows.append({"t": T0 + t + 0.03, "client": c, "target": "198.18.2.1", "scheme": "provider:trb",
                         "proto": "udp", "rtt_ms": 20.0, "pop": "lon"})
    extra = {"t0": T0, "warmup_s": 6.0,
             "events": [{"phase": "cut", "planned_s": 10.0, "t_s": 10.0, "applied_in_s": 0.01,
                         "label": "cut tra", "kind": "cut"}],
             "bgp": [{"settle_s": 0.5, "best_path_changes": 3, "updates": 7, "prefixes": {}}]}
    bounds = [{"name": "before", "start_s": 0.0, "end_s": 10.0, "events": []},
              {"name": "cut", "start_s": 10.0, "end_s": 24.0, "events": ["cut tra"]}]
    phases, tl = analyse_run(tiny, ["tra", "trb"], rows, Steering(window_s=5), 0.1, extra, bounds, [])
    return {"schema_version": SCHEMA_VERSION, "scenario": "synthetic", "topology": "tiny",
            "topology_file": "topology.yaml", "link_backend": "userspace", "created": "now",
            "providers": ["tra", "trb"], "pops": ["nyc", "lon"], "steering": {"cap": 0.9},
            "schemes": ["global", "ipa", "oracle", "optimal", "floor"], "phases": phases, "timeline": tl}


def test_a_timeline_opens_with_its_phases_events_and_rtt_over_time(tiny, tmp_path: Path) -> None:
    paths = report.write(tmp_path, timeline_data(tiny), tiny)
    items = outline(paths["html"].read_text())
    head = first(items, "h2", "Phase by phase")
    details = first(items, "h2", "Details")
    assert items[head + 1][0] == "table" and not items[head + 1][2]
    heads = [t for k, t, folded in items[:details] if k == "th"]
    assert heads[:4] == ["phase", "seconds", "events", "global median / p90 ms"]
    event = first(items, "li", "Event 1, cut tra at 10.0 s: global:")
    assert head < event < details
    lede = [i for i, (k, t, _) in enumerate(items) if k == "p" and t.startswith(("before:", "cut:"))]
    assert len(lede) == 2 and lede[-1] < details
    key = [paths_by_src(paths, t) for k, t, folded in items[:details] if k == "img"]
    assert key == ["rtt-time", "map-cut", "rtt-cdf-cut"]   # the story, then the disrupted phase
    summaries = [(t, i) for i, (k, t, _) in enumerate(items) if k == "summary"]
    names = [t for t, _ in summaries]
    assert names[1].startswith("Events (1): BGP settle")
    assert names[2].startswith("Event 1: cut tra (t = 10.00 s)")
    assert "Phase cut: per client network (3): RTT per scheme, PoPs, IPA answers and shares" in names
    assert all(folded for k, _, folded in items[details:] if k == "table")
