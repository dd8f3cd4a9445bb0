"""The report of a scenario run: report.json (schema below), report.md,
report.html (one self-contained page) and the PNG plots.

The JSON schema is the pydantic model ``Report``: tests validate every
report against it, and docs/report.md documents it field by field.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

from . import plots

SCHEMA_VERSION = 1


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Result(_Open):
    rtt_ms: Optional[float]
    pop: Optional[str]


class IPAResult(_Open):
    shares: dict[str, float]
    rtt_ms: Optional[float]


class ClientEntry(_Open):
    global_: Result = Field(alias="global")
    providers: dict[str, Result]
    wan: dict[str, float]
    ipa: IPAResult
    oracle: Result
    optimal: Result
    floor_rtt_ms: float


class SummaryEntry(_Open):
    median_rtt_ms: Optional[float]
    p90_rtt_ms: Optional[float]
    p99_rtt_ms: Optional[float]
    mean_rtt_ms: Optional[float]
    suboptimal_share: Optional[float]


class Summary(_Open):
    global_: SummaryEntry = Field(alias="global")
    ipa: SummaryEntry
    oracle: SummaryEntry
    optimal: SummaryEntry
    floor: SummaryEntry


class Phase(_Open):
    name: str
    clients: dict[str, ClientEntry]
    summary: Summary


class Report(_Open):
    schema_version: int
    scenario: str
    topology: str
    topology_file: str
    link_backend: str
    created: str
    providers: list[str]
    pops: list[str]
    steering: dict[str, float]
    schemes: list[str]
    phases: list[Phase] = Field(min_length=1)


def validate(data: dict[str, Any]) -> Report:
    return Report.model_validate(data)


SUMMARY_ROWS = [("global", "global anycast (G)"), ("ipa", "IPA"), ("oracle", "oracle (best provider)"),
                ("optimal", "optimal (best unicast PoP)"), ("floor", "physical floor")]
SHORT = {"global": "global", "ipa": "IPA", "oracle": "oracle", "optimal": "optimal", "floor": "floor"}


def _f(x: Any, fmt: str = "{:.1f}") -> str:
    return "–" if x is None else fmt.format(x)


def summary_rows(phase: dict[str, Any], short: bool = False,
                 schemes: Optional[list[str]] = None) -> list[list[str]]:
    rows = []
    for key, label in SUMMARY_ROWS:
        if schemes is not None and key not in schemes:
            continue
        label = SHORT[key] if short else label
        s = phase["summary"][key]
        rows.append([label, _f(s["median_rtt_ms"]), _f(s["p90_rtt_ms"]), _f(s["p99_rtt_ms"]),
                     _f(s["mean_rtt_ms"]), _f(s["suboptimal_share"], "{:.0%}"),
                     _f(s.get("inflation_median_ms")), _f(s.get("inflation_p90_ms"))])
    return rows


SUMMARY_HEAD = ["scheme", "median ms", "p90 ms", "p99 ms", "mean ms", "off optimal PoP",
                "inflation median ms", "inflation p90 ms"]
SUMMARY_HEAD_SHORT = ["scheme", "median", "p90", "p99", "mean", "off-opt", "infl.med", "infl.p90"]


def client_rows(phase: dict[str, Any], providers: list[str]) -> list[list[str]]:
    rows = []
    for cid in sorted(phase["clients"]):
        c = phase["clients"][cid]
        shares = " ".join(f"{k}:{s:.0%}" for k, s in sorted(c["ipa"]["shares"].items(),
                                                           key=lambda kv: -kv[1]))
        rows.append([cid, c["city"], f"{_f(c['global']['rtt_ms'])} ({c['global']['pop'] or 'lost'})",
                     _f(c["ipa"]["rtt_ms"]), shares,
                     f"{_f(c['oracle']['rtt_ms'])} ({c['oracle']['provider']})",
                     f"{_f(c['optimal']['rtt_ms'])} ({c['optimal']['pop']})", _f(c["floor_rtt_ms"])])
    return rows


CLIENT_HEAD = ["client", "city", "global ms (PoP)", "IPA ms", "IPA shares", "oracle ms (provider)",
               "optimal ms (PoP)", "floor ms"]


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def write(folder: Path, data: dict[str, Any], topo: Any) -> dict[str, Path]:
    """Write every report file into ``folder``; returns their paths."""
    validate(data)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "report.json"}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n")
    providers = data["providers"]
    images: list[tuple[str, Path]] = []
    for phase in data["phases"]:
        tag = "" if len(data["phases"]) == 1 else f"-{phase['name']}"
        title = f"{data['scenario']} on {data['topology']}: {phase['name']}"
        images.append(("RTT distribution per scheme",
                       plots.cdf(phase, folder / f"rtt-cdf{tag}.png", title, data["schemes"])))
        images.append(("Catchment maps", plots.catchment_map(topo, phase, folder / f"map{tag}.png", title)))
        images.append(("WAN scores and IPA shares",
                       plots.wan_heatmap(phase, providers, folder / f"wan{tag}.png", title)))
    for label, p in images:
        paths[p.stem] = p

    md = [f"# {data['scenario']} on {data['topology']}", "",
          f"Created {data['created']}; link backend `{data['link_backend']}`; "
          f"{data.get('probes', {}).get('count', '?')} probe rounds per client; "
          f"{data.get('timing', {}).get('total_s', '?')} s end to end.", ""]
    for phase in data["phases"]:
        md += [f"## Phase: {phase['name']}", "", "### Summary over client networks", "",
               _md_table(SUMMARY_HEAD, summary_rows(phase, schemes=data["schemes"])), "",
               "RTTs are medians of UDP probes to the PoP responders (IPA: share-weighted over "
               "its providers); *off optimal PoP* is the share of client networks reaching a "
               "PoP other than their lowest-RTT unicast PoP (IPA: through its top provider; "
               f"share of IPA traffic off optimal: "
               f"{_f(phase['summary']['ipa'].get('suboptimal_traffic_share'), '{:.0%}')}); "
               "*inflation* is RTT minus optimal RTT.", "",
               "### Per client network", "", _md_table(CLIENT_HEAD, client_rows(phase, providers)), ""]
    md += ["## Plots", ""] + [f"![{label}]({p.name})" for label, p in images] + [""]
    paths["md"] = folder / "report.md"
    paths["md"].write_text("\n".join(md))

    body = [f"<h1>{html.escape(data['scenario'])} on {html.escape(data['topology'])}</h1>",
            f"<p>{html.escape(md[2])}</p>"]
    for phase in data["phases"]:
        body += [f"<h2>Phase: {html.escape(phase['name'])}</h2>", "<h3>Summary</h3>",
                 _html_table(SUMMARY_HEAD, summary_rows(phase, schemes=data["schemes"])), "<h3>Per client network</h3>",
                 _html_table(CLIENT_HEAD, client_rows(phase, providers))]
    for label, p in images:
        b64 = base64.b64encode(p.read_bytes()).decode()
        body += [f"<h2>{html.escape(label)}</h2>",
                 f'<img alt="{html.escape(label)}" src="data:image/png;base64,{b64}">']
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0;font-size:14px}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}")
    paths["html"] = folder / "report.html"
    paths["html"].write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>"
                             f"{html.escape(data['scenario'])}</title><style>{style}</style></head>"
                             f"<body>{''.join(body)}</body></html>\n")
    return paths
