"""The report's tables as rows of text: one source for report.md,
report.html, the command line's summary and the index page."""
from __future__ import annotations

import html
from typing import Any, Optional

from ..model.schemes import BY_KEY, EVENTS, SCHEMES

SUMMARY_ROWS = [(s.key, s.label) for s in SCHEMES]
SHORT = {s.key: s.short for s in SCHEMES}


def top_shares(sh: dict[str, float], n: int = 2) -> str:
    return " ".join(f"{k}:{v:.0%}" for k, v in sorted(sh.items(), key=lambda kv: -kv[1])[:n]) or "–"


def fmt(x: Any, fmt: str = "{:.1f}") -> str:
    return "–" if x is None else fmt.format(x)


def summary_rows(phase: dict[str, Any], short: bool = False,
                 schemes: Optional[list[str]] = None) -> list[list[str]]:
    """Per scheme: the distribution over requests (analysis/requests.py; a report
    written before it has the distribution over networks there), then the
    median network, inflation and spread."""
    rows = []
    for key, label in SUMMARY_ROWS:
        if key not in phase["summary"] or (schemes is not None and BY_KEY[key].family not in schemes):
            continue
        label = SHORT[key] if short else label
        s = phase["summary"][key]
        q = s.get("requests") or {}
        head = q or s
        off = q.get("off_optimal_share") if q else s.get("suboptimal_share")
        rows.append([label, fmt(head["median_rtt_ms"]), fmt(head["p90_rtt_ms"]), fmt(head["p99_rtt_ms"]),
                     fmt(head["mean_rtt_ms"]), fmt(q.get("lost_share"), "{:.1%}"), fmt(off, "{:.0%}"),
                     fmt(s["median_rtt_ms"]), fmt(s.get("inflation_median_ms")), fmt(s.get("iqr_median_ms"))])
    return rows


SUMMARY_HEAD = ["scheme", "median ms", "p90 ms", "p99 ms", "mean ms", "lost", "traffic off optimal PoP",
                "median network ms", "inflation median ms", "spread (IQR) ms"]


SUMMARY_HEAD_SHORT = ["scheme", "median", "p90", "p99", "mean", "lost", "off-opt", "net.med", "infl.med", "IQR"]


def client_rows(phase: dict[str, Any], providers: list[str]) -> list[list[str]]:
    rows = []
    for cid in sorted(phase["clients"]):
        c = phase["clients"][cid]
        ipa = c["ipa"]
        shares = top_shares(ipa["shares"], 3)
        if ipa.get("source") == "dns":  # what the client got, then what the zone said
            shares = f"{top_shares(ipa['answers'], 3)} (zone {shares})"
        model = c.get("ipa_model", ipa)
        rows.append([cid, c["city"], f"{fmt(c['global']['rtt_ms'])} ({c['global']['pop'] or 'lost'})",
                     fmt(ipa["rtt_ms"]), fmt(model["rtt_ms"]), shares,
                     f"{fmt(c['oracle']['rtt_ms'])} ({c['oracle']['provider']})",
                     f"{fmt(c['optimal']['rtt_ms'])} ({c['optimal']['pop']})", fmt(c["floor_rtt_ms"])])
    return rows


CLIENT_HEAD = ["client", "city", "global ms (PoP)", "IPA ms", "IPA model ms",
               "IPA answers (zone shares)", "oracle ms (provider)", "optimal ms (PoP)", "floor ms"]


def wan_head(providers: list[str]) -> list[str]:
    return ["client", "demand Gbit/s", "nominal ms"] + [f"{k}: wins / share / ms" for k in providers]


def wan_rows(phase: dict[str, Any], providers: list[str]) -> list[list[str]]:
    """Per network, how each provider ranked: the share of its probes that beat
    the network's nominal RTT (WAN's wins), the share steering gave it (the
    model's), and its median RTT."""
    rows = []
    for cid in sorted(phase["clients"]):
        c = phase["clients"][cid]
        shares = c.get("ipa_model", c["ipa"])["shares"] or {}
        cells = [cid, fmt(c.get("demand_gbps"), "{:g}"), fmt(c.get("nominal_rtt_ms"))]
        for k in providers:
            w, p = c.get("wins", {}).get(k), c["providers"].get(k, {})
            cells.append("–" if w is None else f"{w:.0%} / {shares.get(k, 0.0):.0%} / {fmt(p.get('rtt_ms'))}")
        rows.append(cells)
    return rows


def md_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def ms_stats(st: dict[str, Any]) -> str:
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
        for j, scheme in enumerate(s for s in EVENTS if s in ev["summary"]):
            sm = ev["summary"][scheme]
            head = [str(i + 1), f"{ev['t_s']:.2f}", ev["label"], fmt(bgp.get("settle_s"), "{:.3f}"),
                    str(bgp.get("best_path_changes", "–")), str(bgp.get("updates", "–"))] if j == 0 \
                else ["", "", "", "", "", ""]
            rows.append(head + [SHORT[scheme], str(sm["affected_clients"]), str(sm["clients_losing"]),
                                ms_stats(sm["lost"]), ms_stats(sm["loss_window_s"]), ms_stats(sm["stable_s"]),
                                ", ".join(sm["not_stable"]) or "–",
                                ms_stats(sm["shares_moved_s"]) if scheme != "global" else ""])
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
        for scheme in (s for s in EVENTS if s in per):
            m = per[scheme]
            win = "–" if m["first_lost_s"] is None else \
                f"{m['loss_window_s']:.2f} ({m['first_lost_s']:.2f} – {m['last_lost_s']:.2f})"
            stable = "never" if m["stable_s"] is None else f"{m['stable_s']:.2f} @ {m['stable_pop']}"
            rows.append([c if scheme == "global" else "", SHORT[scheme], f"{m['lost']:g}", win, stable,
                         f"{m['before']['pop'] or 'lost'} → {m['after']['pop'] or 'lost'}",
                         f"{fmt(m['before']['rtt_ms'])} → {fmt(m['after']['rtt_ms'])}",
                         fmt(m.get("shares_moved_s"), "{:.1f}") if scheme != "global" else "",
                         f"{top_shares(m['shares_before'])} → {top_shares(m['shares_after'])}" if scheme != "global" else ""])
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
        rows.append([c, fmt(t["window_end_s"], "{:.2f}"), fmt(t["ranked_s"], "{:.2f}"),
                     fmt(t["zone_s"], "{:.2f}"), fmt(t["answer_s"], "{:.2f}"),
                     fmt(t["recovered_s"], "{:.2f}"), fmt(t["window_end_s"], "{:.2f}"),
                     fmt(t["zone_s"] - t["window_end_s"], "{:.2f}"), fmt(ttl, "{:.2f}")])
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
    where = (f"PowerDNS at every PoP ({len(d['servers'])} servers) on the anycast address {d['server']}"
             if st.get("server") == "anycast" else f"PowerDNS at {d['server']}")
    users = (f"{st['resolvers']} resolvers per client network resolve it for real (each its own "
             f"cache and draws)" if st.get("resolvers") else "clients resolve it for real")
    out = [f"IPA steering: {where} answers `{d['names']['ipa']}` per client subnet "
           f"(TTL {st['ttl_s']} s); {users} and IPA figures are their probes to "
           f"the answers (*IPA model*: the share-weighted figure). {r['queries']} resolutions, "
           f"{r['failed']} failed ({', '.join(f'{k} {v}' for k, v in sorted(r['by_status'].items()))}); "
           f"reply median {fmt(r['reply_ms']['median'])} ms."]
    dist = r.get("distance") or {}
    if dist.get("median") is not None:
        out[0] += (f" Answered vs intended shares (total variation distance per network): median "
                   f"{dist['median']:.3f}, worst {dist['max']:.3f}.")
    zl = (data.get("timeline") or {}).get("zone_log")
    if zl:
        ok = [e["reload_ms"] for e in zl if e["ok"]]
        out[0] += (f" Zone published {len(zl)} times (serial {zl[0]['serial']}–{zl[-1]['serial']}), "
                   f"{len(zl) - len(ok)} reloads failed; reload median "
                   f"{fmt(sorted(ok)[len(ok) // 2] if ok else None)} ms.")
    return out


DNS_CLIENT_HEAD = ["network", "resolvers", "queries", "failed", "reply ms", "answered by",
                   "answers", "intended", "answered", "distance", "z"]
DNS_CLIENT_NOTE = ("Per client network: its resolvers' queries, the median time to an answer (the "
                   "resolution time its users see), the server that answered (the PoP, by NSID), and "
                   "the IPA answers drawn against the shares the zone held when each was drawn "
                   "(*distance*: total variation, the part of answers that went elsewhere than meant; "
                   "*z*: the largest deviation in standard errors, |z| <= 5 is as the weights say).")


def _mix(shares: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.2f}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v > 0)


def dns_client_rows(data: dict[str, Any]) -> list[list[Any]]:
    """One row per client network of the DNS section (empty without DNS)."""
    d = data.get("dns") or {}
    if d.get("mode") != "dns":
        return []
    rows = []
    for c, v in d["resolutions"]["clients"].items():
        sh = v.get("shares") or {}
        rows.append([str(x) for x in (
            c, v.get("resolvers", 1), v["queries"], v["failed"], fmt(v.get("reply_ms")),
            v.get("server") or "", sh.get("answers", ""), _mix(sh.get("intended", {})),
            _mix(sh.get("answered", {})),
            "" if not sh else f"{sh['distance']:.3f}", "" if not sh or sh["z"] is None else sh["z"])])
    return rows


TIMELINE_NOTE = ("Times are seconds from the event. *lost*: probes without an answer in the event's span "
                 "(IPA: traffic-weighted by the shares in effect). *loss window*: first to last lost probe. "
                 "*stable after*: from the event until every later probe answers from the final PoP within "
                 "max(1 ms, 10 %) of the final RTT. *shares moved*: until >= 5 % of IPA traffic had changed "
                 "provider. *BGP settle*: from the event to the last best-path change of a service prefix on "
                 "any router (BIRD logs). Medians and worst over the clients the event affected.")


def phase_line(tl: dict[str, Any]) -> str:
    return "; ".join(f"{p['name']} {p['start_s']:g}–{p['end_s']:g} s" for p in tl["phases"])


def timeline_md(tl: dict[str, Any]) -> list[str]:
    md = ["## Timeline", "", f"Phases: {phase_line(tl)}. Probes every {tl['interval_s']:g} s per client "
          f"and target; IPA shares recomputed every {tl['window_s']:g} s.", "",
          "### Events", "", md_table(EVENT_HEAD, event_rows(tl)), "", TIMELINE_NOTE, ""]
    for i, ev in enumerate(tl["events"]):
        rows = client_event_rows(ev)
        md += [f"### Event {i + 1}: {ev['label']} (t = {ev['t_s']:.2f} s, phase {ev['phase']})", ""]
        md += [md_table(CLIENT_EVENT_HEAD, rows) if rows else "No client network was affected.", ""]
        chain = dns_chain_rows(ev)
        if chain:
            md += ["IPA through DNS:", "", md_table(DNS_HEAD, chain), "", DNS_NOTE, ""]
    return md


LOAD_HEAD = ["link direction", "capacity Gbit/s", "mean Gbit/s", "peak Gbit/s", "mean util.",
             "peak util.", "peak +ms", "peak loss", "IPA part"]


def load_rows(summary: Optional[dict[str, Any]], limit: int = 15) -> list[list[str]]:
    """The busiest link directions (analysis/load.py), hot ones first."""
    if not summary:
        return []
    return [[r["link"].replace(">", " → "), fmt(r["capacity_gbps"], "{:g}"), f"{r['mean_gbps']:.2f}",
             f"{r['peak_gbps']:.2f}", f"{r['mean_rho']:.0%}", f"{r['peak_rho']:.0%}",
             f"{r['peak_delay_ms']:.2f}", f"{r['peak_loss']:.2%}", f"{r['ipa_part']:.0%}"]
            for r in summary["links"][:limit]]


HEADROOM_HEAD = ["CDN port", "client", "from → to", "share moved", "Gbit/s", "port util. before → after",
                 "destination ports after"]


def headroom_rows(record: Optional[dict[str, Any]]) -> list[list[str]]:
    """The capacity headroom's moves (model/headroom.py), in the order made."""
    return [[m["port"].replace(">", " → "), m["client"], f"{m['from']} → {m['to']}", f"{m['share']:.1%}",
             f"{m['gbps']:.2f}", f"{m['rho_before']:.0%} → {m['rho_after']:.0%}",
             ", ".join(f"{p.replace('>', ' → ')} {r:.0%}" for p, r in m["to_ports"].items()) or "–"]
            for m in (record or {}).get("moves", [])]


def headroom_line(data: dict[str, Any], record: Optional[dict[str, Any]] = None) -> Optional[str]:
    """One sentence on the capacity headroom: the limit, what it moved, what stayed over."""
    h = (data.get("steering") or {}).get("headroom")
    if not h:
        return "Capacity headroom: off." if h == 0 else None
    log = (data.get("timeline") or {}).get("steering_log")
    if record is None and log is None:
        return (f"Capacity headroom {h:.0%}: not applied (it needs the load model's paths)."
                if not data.get("load") else None)
    if log is not None:
        moved = [e for e in log if e.get("moves")]
        left = sorted({u["port"] for e in log for u in e.get("unresolved", [])})
        ports = sorted({m["port"] for e in moved for m in e["moves"]})
        return (f"Capacity headroom {h:.0%} (no share may push a CDN port past it): the live loop moved "
                f"shares in {len(moved)} of {len(log)} windows, off {', '.join(ports) or 'no port'}"
                + (f"; still over the limit at times: {', '.join(left)}." if left else "."))
    assert record is not None
    over = ", ".join(f"{p} {r:.0%}" for p, r in record["over"].items())
    if not over:
        return f"Capacity headroom {h:.0%}: no CDN port would pass it under the ranked shares."
    left = ", ".join(f"{u['port']} {u['rho_after']:.0%}" for u in record["unresolved"])
    n = len(record["moves"])
    return (f"Capacity headroom {h:.0%}: under the ranked shares {over}; {n} move{'' if n == 1 else 's'} "
            f"of share to the networks' next providers" + (f"; no room left for {left}." if left else "."))
