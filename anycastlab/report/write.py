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

from . import plots, timeplots

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


class SchemeEventSummary(_Open):
    affected_clients: int
    clients_losing: int
    lost: dict[str, Any]
    loss_window_s: dict[str, Any]
    stable_s: dict[str, Any]


class TimelineEvent(_Open):
    t_s: float
    label: str
    kind: str
    phase: str
    span_s: float
    summary: dict[str, SchemeEventSummary]
    clients: dict[str, dict[str, Any]]
    bgp: dict[str, Any]


class TimelineSection(_Open):
    t0: float
    window_s: float
    interval_s: float
    phases: list[dict[str, Any]]
    events: list[TimelineEvent]
    series: dict[str, Any]
    shares: dict[str, list[dict[str, Any]]]
    plot_clients: list[str]


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
    timeline: Optional[TimelineSection] = None


def validate(data: dict[str, Any]) -> Report:
    return Report.model_validate(data)


SUMMARY_ROWS = [("global", "global anycast (G)"), ("ipa", "IPA"), ("ipa_model", "IPA share model"),
                ("oracle", "oracle (best provider)"), ("optimal", "optimal (best unicast PoP)"),
                ("floor", "physical floor")]
SHORT = {"global": "global", "ipa": "IPA", "ipa_model": "IPA model", "oracle": "oracle",
         "optimal": "optimal", "floor": "floor"}


def _top(sh: dict[str, float], n: int = 2) -> str:
    return " ".join(f"{k}:{v:.0%}" for k, v in sorted(sh.items(), key=lambda kv: -kv[1])[:n]) or "–"


def _f(x: Any, fmt: str = "{:.1f}") -> str:
    return "–" if x is None else fmt.format(x)


def summary_rows(phase: dict[str, Any], short: bool = False,
                 schemes: Optional[list[str]] = None) -> list[list[str]]:
    rows = []
    for key, label in SUMMARY_ROWS:
        if key not in phase["summary"] or (schemes is not None and key.split("_")[0] not in schemes):
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
        ipa = c["ipa"]
        shares = _top(ipa["shares"], 3)
        if ipa.get("source") == "dns":  # what the client got, then what the zone said
            shares = f"{_top(ipa['answers'], 3)} (zone {shares})"
        model = c.get("ipa_model", ipa)
        rows.append([cid, c["city"], f"{_f(c['global']['rtt_ms'])} ({c['global']['pop'] or 'lost'})",
                     _f(ipa["rtt_ms"]), _f(model["rtt_ms"]), shares,
                     f"{_f(c['oracle']['rtt_ms'])} ({c['oracle']['provider']})",
                     f"{_f(c['optimal']['rtt_ms'])} ({c['optimal']['pop']})", _f(c["floor_rtt_ms"])])
    return rows


CLIENT_HEAD = ["client", "city", "global ms (PoP)", "IPA ms", "IPA model ms",
               "IPA answers (zone shares)", "oracle ms (provider)", "optimal ms (PoP)", "floor ms"]


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _ms(st: dict[str, Any]) -> str:
    """'median / worst (client)' of an event statistic."""
    if st["median"] is None:
        return "–"
    return f"{st['median']:g} / {st['worst']:g} ({st['worst_client']})"


EVENT_HEAD = ["#", "t s", "event", "BGP settle s", "best-path changes", "updates",
              "scheme", "clients affected", "losing", "lost probes med / worst",
              "loss window s med / worst", "stable after s med / worst", "never stable",
              "shares moved s med / worst"]


def event_rows(tl: dict[str, Any]) -> list[list[str]]:
    rows = []
    for i, ev in enumerate(tl["events"]):
        bgp = ev.get("bgp") or {}
        for j, scheme in enumerate(s for s in ("global", "ipa", "ipa_model") if s in ev["summary"]):
            sm = ev["summary"][scheme]
            head = [str(i + 1), f"{ev['t_s']:.2f}", ev["label"], _f(bgp.get("settle_s"), "{:.3f}"),
                    str(bgp.get("best_path_changes", "–")), str(bgp.get("updates", "–"))] if j == 0 \
                else ["", "", "", "", "", ""]
            rows.append(head + [SHORT[scheme], str(sm["affected_clients"]), str(sm["clients_losing"]),
                                _ms(sm["lost"]), _ms(sm["loss_window_s"]), _ms(sm["stable_s"]),
                                ", ".join(sm["not_stable"]) or "–",
                                _ms(sm["shares_moved_s"]) if scheme != "global" else ""])
    return rows


CLIENT_EVENT_HEAD = ["client", "scheme", "lost", "loss window s (from – to)", "stable after s",
                     "PoP before → after", "RTT ms before → after", "shares moved s",
                     "top shares before → after"]





def client_event_rows(ev: dict[str, Any]) -> list[list[str]]:
    from ..analysis.timeline import affected

    rows = []
    for c, per in sorted(ev["clients"].items()):
        if not any(affected(m) for s, m in per.items() if s != "dns"):
            continue
        for scheme in (s for s in ("global", "ipa", "ipa_model") if s in per):
            m = per[scheme]
            win = "–" if m["first_lost_s"] is None else \
                f"{m['loss_window_s']:.2f} ({m['first_lost_s']:.2f} – {m['last_lost_s']:.2f})"
            stable = "never" if m["stable_s"] is None else f"{m['stable_s']:.2f} @ {m['stable_pop']}"
            rows.append([c if scheme == "global" else "", SHORT[scheme], f"{m['lost']:g}", win, stable,
                         f"{m['before']['pop'] or 'lost'} → {m['after']['pop'] or 'lost'}",
                         f"{_f(m['before']['rtt_ms'])} → {_f(m['after']['rtt_ms'])}",
                         _f(m.get("shares_moved_s"), "{:.1f}") if scheme != "global" else "",
                         f"{_top(m['shares_before'])} → {_top(m['shares_after'])}" if scheme != "global" else ""])
    return rows


DNS_HEAD = ["client", "window end s", "ranked s", "zone reloaded s", "answer changed s",
            "IPA stable s", "measurement s", "ranking s", "DNS TTL s"]


def dns_chain_rows(ev: dict[str, Any]) -> list[list[str]]:
    """IPA through DNS, per client whose zone entry the event changed."""
    rows = []
    for c, per in sorted(ev["clients"].items()):
        t = per.get("dns")
        if not t or t["zone_s"] is None:
            continue
        ttl = None if t["answer_s"] is None else t["answer_s"] - t["zone_s"]
        rows.append([c, _f(t["window_end_s"], "{:.2f}"), _f(t["ranked_s"], "{:.2f}"),
                     _f(t["zone_s"], "{:.2f}"), _f(t["answer_s"], "{:.2f}"),
                     _f(t["recovered_s"], "{:.2f}"), _f(t["window_end_s"], "{:.2f}"),
                     _f(t["zone_s"] - t["window_end_s"], "{:.2f}"), _f(ttl, "{:.2f}")])
    return rows


DNS_NOTE = ("Seconds from the event. *window end*: the measurement window whose ranking moved the "
            "client's zone entry ended; *ranked*: the steering loop ranked it (after every probe of "
            "the window answered or timed out); *zone reloaded*: PowerDNS serves the new shares; "
            "*answer changed*: the client's first new answer after that (its cached answer had to "
            "expire first); *IPA stable*: its probes to its answers are stable again. "
            "Measurement + ranking + DNS TTL = answer changed.")


def dns_lines(data: dict[str, Any]) -> list[str]:
    """One paragraph: how IPA was steered, and what resolution did."""
    d = data.get("dns") or {"mode": "model"}
    if d["mode"] != "dns":
        return ["IPA steering: the share model (no DNS): IPA figures are share-weighted RTTs."]
    r, st = d["resolutions"], d["settings"]
    out = [f"IPA steering: PowerDNS at {d['server']} answers `{d['names']['ipa']}` per client subnet "
           f"(TTL {st['ttl_s']} s); clients resolve it for real and IPA figures are their probes to "
           f"the answers (*IPA model*: the share-weighted figure). {r['queries']} resolutions, "
           f"{r['failed']} failed ({', '.join(f'{k} {v}' for k, v in sorted(r['by_status'].items()))}); "
           f"reply median {_f(r['reply_ms']['median'])} ms."]
    zl = (data.get("timeline") or {}).get("zone_log")
    if zl:
        ok = [e["reload_ms"] for e in zl if e["ok"]]
        out[0] += (f" Zone published {len(zl)} times (serial {zl[0]['serial']}–{zl[-1]['serial']}), "
                   f"{len(zl) - len(ok)} reloads failed; reload median "
                   f"{_f(sorted(ok)[len(ok) // 2] if ok else None)} ms.")
    return out


TIMELINE_NOTE = ("Times are seconds from the event. *lost*: probes without an answer in the event's span "
                 "(IPA: traffic-weighted by the shares in effect). *loss window*: first to last lost probe. "
                 "*stable after*: from the event until every later probe answers from the final PoP within "
                 "max(1 ms, 10 %) of the final RTT. *shares moved*: until >= 5 % of IPA traffic had changed "
                 "provider. *BGP settle*: from the event to the last best-path change of a service prefix on "
                 "any router (BIRD logs). Medians and worst over the clients the event affected.")


def _phase_line(tl: dict[str, Any]) -> str:
    return "; ".join(f"{p['name']} {p['start_s']:g}–{p['end_s']:g} s" for p in tl["phases"])


def timeline_md(tl: dict[str, Any]) -> list[str]:
    md = ["## Timeline", "", f"Phases: {_phase_line(tl)}. Probes every {tl['interval_s']:g} s per client "
          f"and target; IPA shares recomputed every {tl['window_s']:g} s.", "",
          "### Events", "", _md_table(EVENT_HEAD, event_rows(tl)), "", TIMELINE_NOTE, ""]
    for i, ev in enumerate(tl["events"]):
        rows = client_event_rows(ev)
        md += [f"### Event {i + 1}: {ev['label']} (t = {ev['t_s']:.2f} s, phase {ev['phase']})", ""]
        md += [_md_table(CLIENT_EVENT_HEAD, rows) if rows else "No client network was affected.", ""]
        chain = dns_chain_rows(ev)
        if chain:
            md += ["IPA through DNS:", "", _md_table(DNS_HEAD, chain), "", DNS_NOTE, ""]
    return md


def timeline_html(tl: dict[str, Any]) -> list[str]:
    body = ["<h2>Timeline</h2>", f"<p>Phases: {html.escape(_phase_line(tl))}.</p>", "<h3>Events</h3>",
            _html_table(EVENT_HEAD, event_rows(tl)), f"<p>{html.escape(TIMELINE_NOTE)}</p>"]
    for i, ev in enumerate(tl["events"]):
        rows = client_event_rows(ev)
        body += [f"<h3>Event {i + 1}: {html.escape(ev['label'])} (t = {ev['t_s']:.2f} s)</h3>",
                 _html_table(CLIENT_EVENT_HEAD, rows) if rows else "<p>No client network was affected.</p>"]
        chain = dns_chain_rows(ev)
        if chain:
            body += ["<h4>IPA through DNS</h4>", _html_table(DNS_HEAD, chain),
                     f"<p>{html.escape(DNS_NOTE)}</p>"]
    return body


def write(folder: Path, data: dict[str, Any], topo: Any) -> dict[str, Path]:
    """Write every report file into ``folder``; returns their paths."""
    validate(data)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "report.json"}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n")
    providers = data["providers"]
    images: list[tuple[str, Path]] = []
    tl = data.get("timeline")
    if tl:
        name = f"{data['scenario']} on {data['topology']}"
        images.append(("RTT over time", timeplots.rtt_over_time(tl, folder / "rtt-time.png", name,
                                                                data["schemes"])))
        images.append(("Loss windows", timeplots.loss_strip(tl, folder / "loss.png", name)))
        images.append(("IPA shares over time",
                       timeplots.shares_over_time(tl, providers, folder / "shares.png", name)))
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
          f"{data.get('timing', {}).get('total_s', '?')} s end to end.", ""] + dns_lines(data) + [""]
    if tl:
        md += timeline_md(tl)
    for phase in data["phases"]:
        md += [f"## Phase: {phase['name']}", "", "### Summary over client networks", "",
               _md_table(SUMMARY_HEAD, summary_rows(phase, schemes=data["schemes"])), "",
               "RTTs are medians of UDP probes to the PoP responders (IPA: to the addresses DNS "
               "answered; IPA model: share-weighted over its providers); *off optimal PoP* is the share of client networks reaching a "
               "PoP other than their lowest-RTT unicast PoP (IPA: through its top provider; "
               f"share of IPA traffic off optimal: "
               f"{_f(phase['summary']['ipa'].get('suboptimal_traffic_share'), '{:.0%}')}); "
               "*inflation* is RTT minus optimal RTT.", "",
               "### Per client network", "", _md_table(CLIENT_HEAD, client_rows(phase, providers)), ""]
    md += ["## Plots", ""] + [f"![{label}]({p.name})" for label, p in images] + [""]
    paths["md"] = folder / "report.md"
    paths["md"].write_text("\n".join(md))

    body = [f"<h1>{html.escape(data['scenario'])} on {html.escape(data['topology'])}</h1>",
            f"<p>{html.escape(md[2])}</p>", *[f"<p>{html.escape(x)}</p>" for x in dns_lines(data)]]
    if tl:
        body += timeline_html(tl)
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
