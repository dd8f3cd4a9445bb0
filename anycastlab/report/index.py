"""An index page over many scenario reports (``make scenarios``).

One row per run folder under a directory: what the scenario is, the
at-rest RTTs of global anycast and IPA, and for timelines the headline of
each event (clients losing packets, worst loss window, worst recovery).
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ..analysis.requests import headline
from ..errors import InputError
from .tables import fmt


def entry(folder: Path) -> dict[str, Any]:
    """One row of the index; ValueError when the folder's report.json is not one of ours."""
    try:
        data = json.loads((folder / "report.json").read_text())
        return _entry(folder, data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"report.json cannot be read: {e}") from None
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise ValueError(f"report.json is not an anycastlab report (no {e})") from None


def _entry(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    first = data["phases"][0]["summary"]
    ev_lines = []
    for ev in (data.get("timeline") or {}).get("events", []):
        parts = []
        for s, label in (("global", "global"), ("ipa", "IPA")):
            sm = ev["summary"][s]
            parts.append(f"{label}: {sm['clients_losing']} losing, worst loss window "
                         f"{fmt(sm['loss_window_s']['worst'], '{:.2f}')} s, worst recovery "
                         f"{fmt(sm['stable_s']['worst'], '{:.2f}')} s")
        ev_lines.append(f"{ev['label']} at {ev['t_s']:.0f} s — " + "; ".join(parts))
    return {"folder": folder.name, "scenario": data["scenario"], "topology": data["topology"],
            "description": data.get("description", ""), "created": data["created"],
            "phase": data["phases"][0]["name"],
            "global": (headline(first["global"])["median_rtt_ms"], headline(first["global"])["p90_rtt_ms"]),
            "ipa": (headline(first["ipa"])["median_rtt_ms"], headline(first["ipa"])["p90_rtt_ms"]),
            "events": ev_lines}


def write_index(root: Path) -> tuple[Path, list[tuple[str, str]]]:
    """Write root/index.html (and index.md) linking every report under root;
    also returns the folders left out, with why."""
    folders = sorted(p.parent for p in root.glob("*/report.json"))
    entries, skipped = [], []
    for f in folders:
        try:
            entries.append(entry(f))
        except ValueError as e:
            skipped.append((f.name, str(e)))
    if not entries:
        raise InputError("no reports found" + (f" ({len(skipped)} unreadable: {skipped[0][0]}: {skipped[0][1]})"
                                               if skipped else ""), file=root,
                         fix="run 'make scenarios' (or 'anycastlab scenario NAME --out DIR/NAME') first")
    md = ["# anycastlab scenarios", "", "| scenario | topology | global median / p90 ms (first phase) | "
          "IPA median / p90 ms | events |", "|---|---|---|---|---|"]
    rows = []
    for e in entries:
        g = f"{fmt(e['global'][0])} / {fmt(e['global'][1])}"
        i = f"{fmt(e['ipa'][0])} / {fmt(e['ipa'][1])}"
        evs = "<br>".join(e["events"]) or "at rest"
        md.append(f"| [{e['scenario']}]({e['folder']}/report.md) | {e['topology']} | {g} | {i} | {evs} |")
        rows.append(
            f"<tr><td><a href='{html.escape(e['folder'])}/report.html'>{html.escape(e['scenario'])}</a>"
            f"<br><small>{html.escape(e['description'])}</small></td><td>{html.escape(e['topology'])}</td>"
            f"<td>{g}</td><td>{i}</td><td>{'<br>'.join(html.escape(x) for x in e['events']) or 'at rest'}"
            f"</td></tr>")
    md += [""] + [f"Left out: {name} ({why})" for name, why in skipped]
    (root / "index.md").write_text("\n".join(md) + "\n")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}")
    out = root / "index.html"
    out.write_text("<!doctype html><html><head><meta charset='utf-8'><title>anycastlab scenarios</title>"
                   f"<style>{style}</style></head><body><h1>anycastlab scenarios</h1><table><thead><tr>"
                   "<th>scenario</th><th>topology</th><th>global median / p90 ms (first phase)</th>"
                   "<th>IPA median / p90 ms</th><th>events</th></tr></thead><tbody>"
                   + "".join(rows) + "</tbody></table>"
                   + "".join(f"<p>Left out: {html.escape(n)} ({html.escape(w)})</p>" for n, w in skipped)
                   + "</body></html>\n")
    return out, skipped
