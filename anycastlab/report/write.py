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
from typing import Any

from ..analysis.health import headline
from ..analysis.load import headline as load_headline
from ..analysis.requests import WEIGHTING
from . import plots, timeplots
from .narrative import paragraph
from .schema import validate
from .tables import (
    CLIENT_HEAD,
    HEADROOM_HEAD,
    LOAD_HEAD,
    SUMMARY_HEAD,
    client_rows,
    DNS_CLIENT_HEAD,
    DNS_CLIENT_NOTE,
    dns_client_rows,
    dns_lines,
    fmt,
    headroom_line,
    headroom_rows,
    html_table,
    load_rows,
    md_table,
    summary_rows,
    timeline_html,
    timeline_md,
    wan_head,
    wan_rows,
)


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
        late_at = (data.get("health") or {}).get("late_at_s", [])
        images.append(("RTT over time", timeplots.rtt_over_time(tl, folder / "rtt-time.png", name,
                                                                data["schemes"], late_at)))
        images.append(("Loss windows", timeplots.loss_strip(tl, folder / "loss.png", name)))
        images.append(("IPA shares over time",
                       timeplots.shares_over_time(tl, providers, folder / "shares.png", name)))
    if (data.get("load") or {}).get("summary", {}).get("links"):
        images.append(("Load on the links", plots.load_plot(data["load"], folder / "load.png",
                                                            f"{data['scenario']} on {data['topology']}")))
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

    hl = fault_lines(data) + health_lines(data.get("health"))
    md = [f"# {data['scenario']} on {data['topology']}", "", *hl,
          f"Created {data['created']}; link backend `{data['link_backend']}`; "
          f"{data.get('probes', {}).get('count', '?')} probe rounds per client; "
          f"{data.get('timing', {}).get('total_s', '?')} s end to end. {variability_line(data)}", ""] \
        + dns_lines(data) + [""]
    dns_rows = dns_client_rows(data)
    if dns_rows:
        md += ["## DNS per client network", "", DNS_CLIENT_NOTE, "", md_table(DNS_CLIENT_HEAD, dns_rows), ""]
    load = (data.get("load") or {}).get("summary")
    if tl:
        md += timeline_md(tl)
    if load is not None:
        md += ["## Load on the links", "", load_line(data), "", LOAD_NOTE, "",
               md_table(LOAD_HEAD, load_rows(load)), ""]
    line = headroom_line(data) if tl else None
    if line:
        md += [line, ""]
    for phase in data["phases"]:
        md += [f"## Phase: {phase['name']}", "", paragraph(phase), "", "### Summary", "",
               md_table(SUMMARY_HEAD, summary_rows(phase, schemes=data["schemes"])), "",
               summary_note(phase), ""]
        line = None if tl else headroom_line(data, phase.get("headroom"))
        moves = headroom_rows(phase.get("headroom"))
        if line:
            md += ["### Capacity headroom", "", line, ""] + ([md_table(HEADROOM_HEAD, moves), ""] if moves else [])
        md += ["### Per client network", "", md_table(CLIENT_HEAD, client_rows(phase, providers)), "",
               "### Provider ranking per network (Wins Above Nominal)", "", WAN_NOTE, "",
               md_table(wan_head(providers), wan_rows(phase, providers)), ""]
    md += ["## Plots", ""] + [f"![{label}]({p.name})" for label, p in images] + [""]
    paths["md"] = folder / "report.md"
    paths["md"].write_text("\n".join(md))

    body = [f"<h1>{html.escape(data['scenario'])} on {html.escape(data['topology'])}</h1>",
            *[f'<p class="{"late" if i == 0 and len(hl) > 2 else "health"}">{html.escape(x)}</p>'
              for i, x in enumerate(hl) if x],
            f"<p>{html.escape(md[2 + len(hl)])}</p>", *[f"<p>{html.escape(x)}</p>" for x in dns_lines(data)]]
    if dns_rows:
        body += ["<h2>DNS per client network</h2>", f"<p>{html.escape(DNS_CLIENT_NOTE)}</p>",
                 html_table(DNS_CLIENT_HEAD, dns_rows)]
    if tl:
        body += timeline_html(tl)
    if load is not None:
        body += ["<h2>Load on the links</h2>", f"<p>{html.escape(load_line(data))}</p>",
                 f"<p>{html.escape(LOAD_NOTE)}</p>", html_table(LOAD_HEAD, load_rows(load))]
    line = headroom_line(data) if tl else None
    if line:
        body += [f"<p>{html.escape(line)}</p>"]
    for phase in data["phases"]:
        body += [f"<h2>Phase: {html.escape(phase['name'])}</h2>", f"<p>{html.escape(paragraph(phase))}</p>",
                 "<h3>Summary</h3>",
                 html_table(SUMMARY_HEAD, summary_rows(phase, schemes=data["schemes"])),
                 f"<p>{html.escape(summary_note(phase))}</p>"]
        line = None if tl else headroom_line(data, phase.get("headroom"))
        moves = headroom_rows(phase.get("headroom"))
        if line:
            body += ["<h3>Capacity headroom</h3>", f"<p>{html.escape(line)}</p>"]
            body += [html_table(HEADROOM_HEAD, moves)] if moves else []
        body += ["<h3>Per client network</h3>",
                 html_table(CLIENT_HEAD, client_rows(phase, providers)),
                 "<h3>Provider ranking per network (Wins Above Nominal)</h3>", f"<p>{html.escape(WAN_NOTE)}</p>",
                 html_table(wan_head(providers), wan_rows(phase, providers))]
    for label, p in images:
        b64 = base64.b64encode(p.read_bytes()).decode()
        body += [f"<h2>{html.escape(label)}</h2>",
                 f'<img alt="{html.escape(label)}" src="data:image/png;base64,{b64}">']
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0;font-size:14px}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
             ".late{background:#fde0dc;border-left:6px solid #d62728;padding:.5em 1em;font-weight:bold}")
    paths["html"] = folder / "report.html"
    paths["html"].write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>"
                             f"{html.escape(data['scenario'])}</title><style>{style}</style></head>"
                             f"<body>{''.join(body)}</body></html>\n")
    return paths


def summary_note(phase: dict[str, Any]) -> str:
    """How the summary is weighted, in one sentence, and what its columns mean."""
    over_requests = any(v.get("requests") for v in phase["summary"].values())
    return ((WEIGHTING if over_requests else "Percentiles are over client networks (a report written "
             "before requests were weighted).") +
            " RTTs are UDP probes to the PoP responders (IPA: to the addresses DNS answered; IPA model: "
            "each provider by its share); *traffic off optimal PoP* is the share of requests reaching a "
            "PoP other than their network's lowest-RTT unicast PoP; *median network* is the median over "
            "client networks of each network's median RTT; *inflation* is a network's RTT minus its "
            "optimal RTT.")


WAN_NOTE = ("Nominal: the median of all of the network's provider probes; wins: the share of a "
            "provider's probes faster than nominal (a lost probe never wins); share: the traffic the "
            "steering gives it (docs/analysis.md); ms: its median RTT.")


LOAD_NOTE = ("Each steering window the CDN's demand is laid on the routed paths (IPA by each "
             "network's shares, the rest through the global prefix) and each link direction queues "
             "as an M/M/1/K queue at its utilisation (docs/topology.md). The busiest 15 directions "
             "over the windows in effect while the run measured; *IPA part*: the share of their "
             "load that IPA steered.")


def load_line(data: dict[str, Any]) -> str:
    """One line on the load model (analysis/load.py)."""
    return load_headline((data.get("load") or {}).get("summary"))


def fault_lines(data: dict[str, Any]) -> list[str]:
    """A daemon that died during the run, at the top of the report (lab/watch.py)."""
    faults = data.get("faults") or []
    if not faults:
        return []
    what = "; ".join(f"{f['name']} on {f.get('node') or 'the root namespace'} (pid {f['pid']}) at "
                     f"t = {f['t_s']:.1f} s" for f in faults)
    return [f"**A daemon died during the run**: {what}. Results after that describe a lab that "
            "lost it, not the internet.", ""]


def variability_line(data: dict[str, Any]) -> str:
    """How the links varied in this run (docs/topology.md, Variability)."""
    v = data.get("variability") or {}
    if not v.get("lines"):
        return "Links: constant delays, no loss." if v.get("applied", True) else \
            "Links: constant delays (variability switched off)."
    return f"Links: queueing delay and loss on {v['lines']} link directions, seed {v['seed']}."


def health_lines(h: Any) -> list[str]:
    """The top of the report: a warning first when the emulator was late,
    then the one-line health record (analysis/health.py)."""
    out = []
    if h and h.get("late_seconds"):
        at = ", ".join(f"{x:g}" for x in h["late_at_s"][:20]) + (" ..." if h["late_seconds"] > 20 else "")
        out += [f"**Warning: the emulator could not keep time in {h['late_seconds']} of {h['seconds']} "
                f"seconds** (release lateness p99 or an engine stall above {h['threshold_ms']:g} ms, or "
                f"packets dropped by the kernel; worst p99 {h['worst_p99_ms']:.1f} ms, worst stall "
                f"{h.get('worst_stall_ms') or 0:.1f} ms). RTT and loss in those seconds "
                f"describe this machine, not the emulated internet. Seconds: {at}.", ""]
    return out + [headline(h) + ".", ""]
