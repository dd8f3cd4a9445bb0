"""The report of a scenario run: report.json (schema below), report.md,
report.html (one self-contained page, report/page.py) and the PNG plots.

Both report.md and report.html open with the answer (report/answer.py): the
schemes side by side, the paragraph, the key plots; the details follow.

The JSON schema is the pydantic model ``Report``: tests validate every
report against it, and docs/report.md documents it field by field.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import plots, timeplots
from .answer import event_lines, phase_head, phase_rows, split_images, tag
from .narrative import paragraph
from .page import page
from .schema import validate
from .tables import (
    CLIENT_HEAD,
    DNS_CLIENT_HEAD,
    DNS_CLIENT_NOTE,
    HEADROOM_HEAD,
    LOAD_HEAD,
    SUMMARY_HEAD,
    client_rows,
    dns_client_rows,
    dns_lines,
    headroom_line,
    headroom_rows,
    load_rows,
    md_table,
    summary_rows,
    timeline_md,
    wan_head,
    wan_rows,
)
# the command line prints these beside the report (cli/scenario.py)
from .texts import (  # noqa: F401
    LOAD_NOTE,
    WAN_NOTE,
    fault_lines,
    health_lines,
    load_line,
    summary_note,
    variability_line,
)


def write(folder: Path, data: dict[str, Any], topo: Any) -> dict[str, Path]:
    """Write every report file into ``folder``; returns their paths."""
    validate(data)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "report.json"}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n")
    images = draw(folder, data, topo)
    for label, p in images:
        paths[p.stem] = p
    top = fault_lines(data) + health_lines(data.get("health"))
    run = (f"Created {data['created']}; link backend `{data['link_backend']}`; "
           f"{data.get('probes', {}).get('count', '?')} probe rounds per client; "
           f"{data.get('timing', {}).get('total_s', '?')} s end to end. {variability_line(data)}")
    paths["md"] = folder / "report.md"
    paths["md"].write_text("\n".join(markdown(data, images, top, run)))
    paths["html"] = folder / "report.html"
    paths["html"].write_text(page(data, images, top, run))
    return paths


def draw(folder: Path, data: dict[str, Any], topo: Any) -> list[tuple[str, Path]]:
    """Every plot of the report, as (label, path) in the order they were drawn."""
    providers = data["providers"]
    images: list[tuple[str, Path]] = []
    tl = data.get("timeline")
    name = f"{data['scenario']} on {data['topology']}"
    if tl:
        late_at = (data.get("health") or {}).get("late_at_s", [])
        images.append(("RTT over time", timeplots.rtt_over_time(tl, folder / "rtt-time.png", name,
                                                                data["schemes"], late_at)))
        images.append(("Loss windows", timeplots.loss_strip(tl, folder / "loss.png", name)))
        images.append(("IPA shares over time",
                       timeplots.shares_over_time(tl, providers, folder / "shares.png", name)))
    if (data.get("load") or {}).get("summary", {}).get("links"):
        images.append(("Load on the links", plots.load_plot(data["load"], folder / "load.png", name)))
    for phase in data["phases"]:
        t = tag(data, phase)
        title = f"{name}: {phase['name']}"
        images.append(("RTT distribution per scheme",
                       plots.cdf(phase, folder / f"rtt-cdf{t}.png", title, data["schemes"])))
        images.append(("Catchment maps", plots.catchment_map(topo, phase, folder / f"map{t}.png", title)))
        images.append(("WAN scores and IPA shares",
                       plots.wan_heatmap(phase, providers, folder / f"wan{t}.png", title)))
    return images


def markdown(data: dict[str, Any], images: list[tuple[str, Path]], top: list[str], run: str) -> list[str]:
    """report.md: the answer first ("In short"), then every table in full."""
    providers, tl = data["providers"], data.get("timeline")
    key, rest = split_images(data, images)
    md = [f"# {data['scenario']} on {data['topology']}", "", *top, run, "", "## In short", ""]
    if tl:
        md += [md_table(phase_head(data), phase_rows(data)), ""]
        md += [f"- {x}" for x in event_lines(tl)] + [""]
        md += [x for p in data["phases"] if paragraph(p) for x in (f"**{p['name']}**: {paragraph(p)}", "")]
    else:
        phase = data["phases"][0]
        md += [md_table(SUMMARY_HEAD, summary_rows(phase, schemes=data["schemes"])), "",
               paragraph(phase), "", summary_note(phase), ""]
    md += [f"![{label}]({p.name})" for label, p in key] + ["", "## Details", ""] + dns_lines(data) + [""]
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
        md += [f"## Phase: {phase['name']}", ""]
        if tl:   # at rest the summary opened the report
            md += ["### Summary", "", md_table(SUMMARY_HEAD, summary_rows(phase, schemes=data["schemes"])),
                   "", summary_note(phase), ""]
        line = None if tl else headroom_line(data, phase.get("headroom"))
        moves = headroom_rows(phase.get("headroom"))
        if line:
            md += ["### Capacity headroom", "", line, ""]
            md += [md_table(HEADROOM_HEAD, moves), ""] if moves else []
        md += ["### Per client network", "", md_table(CLIENT_HEAD, client_rows(phase, providers)), "",
               "### Provider ranking per network (Wins Above Nominal)", "", WAN_NOTE, "",
               md_table(wan_head(providers), wan_rows(phase, providers)), ""]
    return md + ["## More plots", ""] + [f"![{label}]({p.name})" for label, p in rest] + [""]
