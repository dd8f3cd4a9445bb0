"""report.html: one self-contained page that opens with the answer.

First what a reader came for (report/answer.py): the schemes side by side,
the plain-language paragraph and the key plots. Every detail table follows
folded in a ``<details>`` element whose summary line says what it holds, so
the page reads top down without scrolling past pages of per-client rows.
Images are data URIs and the style is inline: no file beside it, no script,
nothing fetched.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

from .answer import event_lines, phase_head, phase_rows, split_images
from .narrative import paragraph
from .tables import (
    CLIENT_EVENT_HEAD, CLIENT_HEAD, DNS_CLIENT_HEAD, DNS_CLIENT_NOTE, DNS_HEAD, DNS_NOTE, EVENT_HEAD,
    HEADROOM_HEAD, LOAD_HEAD, SUMMARY_HEAD, TIMELINE_NOTE, client_event_rows, client_rows,
    dns_chain_rows, dns_client_rows, dns_lines, event_rows, headroom_line, headroom_rows, html_table,
    load_rows, phase_line, summary_rows, wan_head, wan_rows,
)
from .texts import LOAD_NOTE, WAN_NOTE, load_line, summary_note

STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;line-height:1.4}"
         "table{border-collapse:collapse;margin:.6em 0;font-size:14px}"
         "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
         "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
         ".late{background:#fde0dc;border-left:6px solid #d62728;padding:.5em 1em;font-weight:bold}"
         ".answer{border-bottom:2px solid #ddd;padding-bottom:1em}"
         ".lede{font-size:1.1em}.meta,.desc{color:#555;font-size:.9em}"
         ".key{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:1em;"
         "align-items:start}"
         ".key figure{margin:0}.key figure.wide{grid-column:1/-1;text-align:center}"
         ".key figure.wide img{max-height:85vh}"
         "figcaption{font-size:.9em;color:#555}"
         "details{margin:.4em 0;border:1px solid #e3e3e3;border-radius:4px;padding:.3em .8em}"
         "details[open]{padding-bottom:.8em}summary{cursor:pointer;font-weight:bold}"
         ".phases td:nth-child(-n+3),.phases th:nth-child(-n+3){text-align:left}")


def esc(x: Any) -> str:
    return html.escape(str(x))


def inline(x: str) -> str:
    """Escaped text with the Markdown the shared sentences use (**bold**,
    *italic*, `code`) as HTML."""
    t = esc(x)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<i>\1</i>", t)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", t)


def img(path: Path, label: str) -> str:
    b64 = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{esc(label)}" src="data:image/png;base64,{b64}">'


def fold(summary: str, *body: str) -> str:
    """One folded detail: its summary line, then its content."""
    return f"<details><summary>{esc(summary)}</summary>{''.join(body)}</details>"


def page(data: dict[str, Any], images: list[tuple[str, Path]], top: list[str], run_line: str) -> str:
    """The whole page. ``top``: the fault and health lines that open it (the
    first one a warning when the emulator fell behind)."""
    key, rest = split_images(data, images)
    body = [f"<h1>{esc(data['scenario'])} on {esc(data['topology'])}</h1>"]
    if data.get("description"):
        body.append(f'<p class="desc">{esc(data["description"])}</p>')
    body += [f'<p class="{"late" if i == 0 and len(top) > 2 else "health"}">{inline(x)}</p>'
             for i, x in enumerate(top) if x]
    body += ['<section class="answer" id="answer">', *answer(data, key),
             f'<p class="meta">{inline(run_line)}</p>', "</section>",
             '<h2 id="details">Details</h2>', *details(data, rest)]
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(data['scenario'])}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def answer(data: dict[str, Any], key: list[tuple[str, Path]]) -> list[str]:
    """The schemes side by side, the paragraph(s), the key plots."""
    if data.get("timeline"):
        out = ["<h2>Phase by phase</h2>",
               html_table(phase_head(data), phase_rows(data)).replace("<table>", '<table class="phases">', 1),
               fold("What the figures mean", f"<p>{inline(summary_note(data['phases'][0]))}</p>")]
        evs = event_lines(data["timeline"])
        out += ["<ul>" + "".join(f"<li>{esc(x)}</li>" for x in evs) + "</ul>"] if evs else []
        out += [f'<p class="lede"><b>{esc(p["name"])}</b>: {esc(paragraph(p))}</p>'
                for p in data["phases"] if paragraph(p)]
    else:
        phase = data["phases"][0]
        out = ["<h2>The schemes side by side</h2>",
               html_table(SUMMARY_HEAD, summary_rows(phase, schemes=data["schemes"])),
               fold("What the columns mean", f"<p>{inline(summary_note(phase))}</p>")]
        text = paragraph(phase)
        out += [f'<p class="lede">{esc(text)}</p>'] if text else []
    figs = [f'<figure class="{"wide" if p.stem == "rtt-time" else ""}">{img(p, label)}'
            f"<figcaption>{esc(label)}</figcaption></figure>" for label, p in key]
    return out + (['<div class="key">', *figs, "</div>"] if figs else [])


def details(data: dict[str, Any], rest: list[tuple[str, Path]]) -> list[str]:
    """Every detail table, folded, in the order a reader digs: events, phases
    and networks, load, DNS, then the remaining plots."""
    tl, providers = data.get("timeline"), data["providers"]
    out = timeline_details(tl) if tl else []
    line = headroom_line(data) if tl else None
    if line:
        out.append(fold("Capacity headroom of the live steering loop", f"<p>{inline(line)}</p>"))
    many = len(data["phases"]) > 1
    for phase in data["phases"]:
        pre = f"Phase {phase['name']}: " if many else ""
        n = len(phase["clients"])
        if tl:
            out.append(fold(heading(pre, "summary per scheme"),
                            html_table(SUMMARY_HEAD, summary_rows(phase, schemes=data["schemes"])),
                            f"<p>{inline(summary_note(phase))}</p>"))
        line = None if tl else headroom_line(data, phase.get("headroom"))
        moves = headroom_rows(phase.get("headroom"))
        if line:
            n_moves = f"{len(moves)} move{'' if len(moves) == 1 else 's'}"
            out.append(fold(heading(pre, f"capacity headroom: {n_moves}"),
                            f"<p>{inline(line)}</p>", html_table(HEADROOM_HEAD, moves) if moves else ""))
        out.append(fold(heading(pre, f"per client network ({n}): RTT per scheme, PoPs, "
                                     "IPA answers and shares"),
                        html_table(CLIENT_HEAD, client_rows(phase, providers))))
        out.append(fold(heading(pre, "provider ranking per network (Wins Above Nominal)"),
                        f"<p>{inline(WAN_NOTE)}</p>",
                        html_table(wan_head(providers), wan_rows(phase, providers))))
    load = (data.get("load") or {}).get("summary")
    if load is not None:
        out.append(fold(f"Load on the links: {load_line(data)}", f"<p>{inline(LOAD_NOTE)}</p>",
                        html_table(LOAD_HEAD, load_rows(load))))
    dns_rows = dns_client_rows(data)
    out.append(fold(f"DNS steering: resolutions per client network ({len(dns_rows)})" if dns_rows
                    else "IPA steering: the share model, no DNS",
                    *[f"<p>{inline(x)}</p>" for x in dns_lines(data)],
                    *([f"<p>{inline(DNS_CLIENT_NOTE)}</p>", html_table(DNS_CLIENT_HEAD, dns_rows)]
                      if dns_rows else [])))
    if rest:
        out.append(fold("More plots: " + ", ".join(dict.fromkeys(label for label, _ in rest)),
                        *[f"<h3>{esc(label)}: {esc(p.stem)}</h3>{img(p, label)}" for label, p in rest]))
    return out


def heading(pre: str, text: str) -> str:
    """A fold's summary line: after the phase's name, or capitalised alone."""
    return pre + text if pre else text[:1].upper() + text[1:]


def timeline_details(tl: dict[str, Any]) -> list[str]:
    """The events table and one fold per event (the clients it affected)."""
    evs = tl["events"]
    out = [fold(f"Events ({len(evs)}): BGP settle, loss windows and recovery per scheme "
                "(median / worst client)",
                f"<p>Phases: {esc(phase_line(tl))}. Probes every {tl['interval_s']:g} s per client and "
                f"target; IPA shares recomputed every {tl['window_s']:g} s.</p>",
                html_table(EVENT_HEAD, event_rows(tl)), f"<p>{inline(TIMELINE_NOTE)}</p>")]
    for i, ev in enumerate(evs):
        rows = client_event_rows(ev)
        chain = dns_chain_rows(ev)
        who = len({r[0] for r in rows if r[0]})
        out.append(fold(f"Event {i + 1}: {ev['label']} (t = {ev['t_s']:.2f} s): "
                        f"{who} client network{'' if who == 1 else 's'} affected",
                        html_table(CLIENT_EVENT_HEAD, rows) if rows else
                        "<p>No client network was affected.</p>",
                        *(["<h4>IPA through DNS</h4>", html_table(DNS_HEAD, chain),
                           f"<p>{inline(DNS_NOTE)}</p>"] if chain else [])))
    return out
