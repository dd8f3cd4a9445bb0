"""Scenarios through time: steering that reacts, and what each event did.

Pure functions over probe samples (``t`` on the wall clock) and the event
log; times in the results are seconds on the *event clock* (0 = start of
the timeline; warm-up probes have negative times).

  points     per client and scheme, one point per probe round:
             (t, rtt_ms or None, lost fraction 0..1, PoP, via); ``via`` is
             the provider whose prefix a DNS-steered IPA probe went to.
             global: the G probe. IPA with DNS steering: the probe to the
             address the client's DNS answer gave (unresolved = lost).
             ipa_model (IPA without DNS): the round's provider probes weighted
             by the shares *in effect* (computed from the previous window),
             so a lost probe on a provider with 2 % share loses 0.02 of the
             client's traffic; RTT is that of the delivered traffic.
             all_in: as the share model with cap 1 (the top WAN provider only).
             oracle / optimal: the best provider / unicast probe of the round.
  windows    every ``window_s`` the WAN ranking and IPA shares are
             recomputed from that window's samples only and take effect at
             its end, as a live steering loop would (a window without any
             answer keeps the previous shares: nothing new was learned).
             A run that recorded its live loop's published shares (the
             steering log, after the capacity headroom) uses those instead,
             from when the loop published them.
  metrics    per event, client and scheme, over the event's span (until the
             next event or the end, minus a guard of up to 1 s whose probes may
             meet the next event in flight): lost probes, loss window (first to last
             lost probe in 1 s bins with more loss than the client's background),
             time until stable again (on 1 s bins, ``stability.py``) and on which PoP, PoP and
             median RTT before and after, and for IPA the time until the
             shares moved. docs/scenarios.md defines each one. A DNS-steered
             IPA probe is judged against the final state of the provider
             prefix it went to (that prefix's own probes), not against the
             client's mix: drawing another provider is steering, not a route
             still settling.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Optional

from ..model.schemes import EVENTS, PER_ROUND
from ..model.settings import Steering
from .baseline import allocate, median, mode, wan
from .stability import Point, judge

Sample = tuple[float, Optional[float], Optional[str], Optional[str]]         # t, rtt_ms, pop, via
SCHEMES = PER_ROUND
SHARE_MOVE = 0.05      # shares "moved" once this much traffic changed provider
BEFORE_S = 5.0         # how far back "before" looks (at most)
AFTER_S = 5.0          # how long the final state "after" is (at most)
GUARD_S = 1.0          # probes sent this close to the next event may meet it in flight


@dataclass(frozen=True)
class Mark:
    """An event on the event clock."""
    t: float
    label: str
    kind: str
    phase: str


def split(rows: list[dict[str, Any]], t0: float) -> dict[str, dict[str, list[Sample]]]:
    """{client: {scheme target: [(t - t0, rtt, pop, via)] sorted}} from UDP
    rows; ``via`` names the provider of an IPA probe's address (else None)."""
    prefix_of = {r["target"]: r["scheme"].split(":", 1)[1] for r in rows
                 if r["proto"] == "udp" and r["scheme"].startswith("provider:") and r["target"]}
    out: dict[str, dict[str, list[Sample]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["proto"] == "udp":
            via = prefix_of.get(r["target"]) if r["scheme"] == "ipa" else None
            out[r["client"]][r["scheme"]].append((r["t"] - t0, r["rtt_ms"], r["pop"], via))
    for per in out.values():
        for v in per.values():
            v.sort(key=lambda s: s[0])
    return out


def first_window_start(warmup_s: float, window_s: float) -> float:
    """Windows are aligned on 0 and the first one begins in the warm-up."""
    return -window_s * max(1, math.ceil(warmup_s / window_s - 1e-9))


class Ranked(NamedTuple):
    """One window's ranking of one client."""
    shares: dict[str, float]
    scores: dict[str, float]
    nominal: Optional[float]
    rtts: dict[str, float]      # median RTT of each provider that answered


def rank(samples: dict[str, list[Optional[float]]], steering: Steering) -> Ranked:
    """One window's ranking of one client from its provider samples (None =
    lost). The live steering loop and the analysis both call this, so the
    zone and the model agree."""
    samples = {k: v for k, v in samples.items() if v}
    answered = {k: [x for x in v if x is not None] for k, v in samples.items()}
    rtts: dict[str, float] = {k: median(v) for k, v in answered.items() if v}  # type: ignore[misc]
    nominal, _, scores = wan(samples)
    shares = allocate({k: s for k, s in scores.items() if k in rtts}, steering, rtts)
    return Ranked(shares, scores, nominal, rtts)


def window_shares(per: dict[str, list[Sample]], providers: list[str], start: float, end: float,
                  steering: Steering, window_s: float) -> list[dict[str, Any]]:
    """The steering loop of one client: for each window [b, b + w) starting
    at ``start``, the WAN scores and shares computed from it, in effect from
    b + w on."""
    out: list[dict[str, Any]] = []
    prev: dict[str, float] = {}
    n = max(1, math.ceil((end - start) / window_s - 1e-9))
    for i in range(n):
        b = start + i * window_s
        e = b + window_s
        samples = {k: [s[1] for s in per.get(f"provider:{k}", []) if b <= s[0] < e] for k in providers}
        shares, scores, nominal, _ = rank(samples, steering)
        if not shares:
            shares = prev  # no answer at all in this window: keep what we had
        out.append({"from": round(e, 3), "window": [round(b, 3), round(e, 3)], "shares": shares,
                    "wan": scores, "nominal_rtt_ms": None if nominal is None else round(nominal, 3)})
        prev = shares
    return out


def shares_at(windows: list[dict[str, Any]], t: float) -> dict[str, float]:
    """Shares in effect at time t (those of the last window ended by t)."""
    cur: dict[str, float] = {}
    for w in windows:
        if w["from"] <= t:
            cur = w["shares"]
        else:
            break
    return cur


def _rounds(per: dict[str, list[Sample]], names: list[str], interval: float) -> dict[int, dict[str, Sample]]:
    """Group the samples of ``names`` into probe rounds. The stream sends a
    client's probes of one round within a fraction of the interval, every
    interval; rounds are counted from a quarter interval before the first
    sample, so a little send jitter never pushes a probe into its neighbour."""
    firsts = [per[n][0][0] for n in names if per.get(n)]
    if not firsts:
        return {}
    anchor = min(firsts) - 0.25 * interval
    out: dict[int, dict[str, Sample]] = defaultdict(dict)
    for n in names:
        for s in per.get(n, []):
            out[int(math.floor((s[0] - anchor) / interval + 1e-6))][n] = s
    return {k: out[k] for k in sorted(out)}


def _weighted(t: float, rnd: dict[str, Sample], sh: dict[str, float]) -> Optional[Point]:
    """One round of provider probes weighted by the shares in effect."""
    live = {k: rnd[f"provider:{k}"] for k in sh if f"provider:{k}" in rnd and sh[k] > 0}
    total = sum(sh[k] for k in live)
    if total <= 0:
        return None
    ok = {k: s for k, s in live.items() if s[1] is not None}
    got = sum(sh[k] for k in ok)
    rtt = sum(sh[k] * ok[k][1] for k in ok) / got if got > 0 else None  # type: ignore[operator]
    top = max(live, key=lambda k: sh[k])
    return (t, rtt, round(1 - got / total, 6), live[top][2], None)


def points(per: dict[str, list[Sample]], providers: list[str], pops: list[str],
           windows: list[dict[str, Any]], interval: float,
           all_in: Optional[list[dict[str, Any]]] = None) -> dict[str, list[Point]]:
    """Per scheme, one point per probe round (see the module docstring);
    with ``all_in`` (windows of cap-1 shares) also the all-in column."""
    out: dict[str, list[Point]] = {s: [] for s in SCHEMES}
    out["global"] = as_points(per.get("global", []))
    model = "ipa"
    if per.get("ipa"):  # DNS steering: the probes to the client's answers
        out["ipa"] = as_points(per["ipa"])
        model = "ipa_model"
    pnames = [f"provider:{k}" for k in providers]
    for _, rnd in _rounds(per, pnames, interval).items():
        t = min(s[0] for s in rnd.values())
        for name, wins in ((model, windows), ("all_in", all_in)):
            pt = _weighted(t, rnd, shares_at(wins, t)) if wins is not None else None
            if pt is not None:
                out.setdefault(name, []).append(pt)
        ans = [s for s in rnd.values() if s[1] is not None]
        best = min(ans, key=lambda s: s[1]) if ans else None  # type: ignore[arg-type, return-value]
        out["oracle"].append((t, best[1] if best else None, 0.0 if best else 1.0, best[2] if best else None, None))
    for _, rnd in _rounds(per, [f"unicast:{p}" for p in pops], interval).items():
        t = min(s[0] for s in rnd.values())
        ans = [s for s in rnd.values() if s[1] is not None]
        best = min(ans, key=lambda s: s[1]) if ans else None  # type: ignore[arg-type, return-value]
        out["optimal"].append((t, best[1] if best else None, 0.0 if best else 1.0, best[2] if best else None))
    return out


def as_points(samples: list[Sample]) -> list[Point]:
    """One point per probe: lost (1.0) when it has no RTT."""
    return [(t, rtt, 0.0 if rtt is not None else 1.0, pop, via) for t, rtt, pop, via in samples]


def _state(pts: list[Point]) -> dict[str, Any]:
    rtts = [p[1] for p in pts if p[1] is not None]
    return {"pop": mode(p[3] for p in pts if p[1] is not None),
            "rtt_ms": None if not rtts else round(median(rtts), 3),  # type: ignore[arg-type]
            "loss": round(sum(p[2] for p in pts) / len(pts), 4) if pts else None}


def tolerance(rtt: Optional[float]) -> float:
    """How far an RTT may move and still count as unchanged (``affected``)."""
    return max(1.0, 0.1 * (rtt or 0.0))


def _guard(span: float) -> float:
    return min(GUARD_S, span / 4)


def event_metrics(pts: list[Point], te: float, tn: float, t_prev: float,
                  routes: Optional[dict[str, list[Point]]] = None, random_loss: bool = True) -> dict[str, Any]:
    """What one event did to one client under one scheme (times relative to te).

    ``pts`` are the scheme's points, ``[te, tn)`` the event's span and
    ``t_prev`` the previous event (or the timeline start). With ``routes``
    (provider -> the points of that provider prefix's own probes), a point
    that went ``via`` a provider is stable once it meets that prefix's final
    PoP and RTT."""
    before_pts = [p for p in pts if max(t_prev, te - BEFORE_S) <= p[0] < te - 0.5 * _guard(te - t_prev)]
    before = _state(before_pts)
    tn = tn - _guard(tn - te)  # the next event's effects belong to the next event
    span = [p for p in pts if te <= p[0] < tn]
    tail_from = tn - min(AFTER_S, (tn - te) / 2)
    after = _state([p for p in span if p[0] >= tail_from])
    finals = {k: _state([p for p in v if tail_from <= p[0] < tn]) for k, v in (routes or {}).items()}

    def final(p: Point) -> dict[str, Any]:
        return finals.get(p[4] or "", after)

    res: dict[str, Any] = {
        "before": before, "after": after,
        "probes": len(span), "lost": round(sum(p[2] for p in span), 3),
        "pop_changed": before["pop"] != after["pop"],
    }
    res.update(judge(span, te, tn, tail_from, before_pts, final, after, random_loss))
    return res


def share_move(windows: list[dict[str, Any]], te: float, tn: float) -> dict[str, Any]:
    """IPA: shares in effect before and after the event, and the seconds from
    the event until they had moved (>= SHARE_MOVE of traffic changed provider)."""
    before = shares_at(windows, te)
    moved = None
    for w in windows:
        if te < w["from"] < tn:
            cur = w["shares"]
            tv = 0.5 * sum(abs(cur.get(k, 0.0) - before.get(k, 0.0)) for k in set(cur) | set(before))
            if tv >= SHARE_MOVE:
                moved = round(w["from"] - te, 3)
                break
    after = shares_at(windows, tn - 1e-6)
    return {"shares_before": before, "shares_after": after, "shares_moved_s": moved}


def affected(m: dict[str, Any]) -> bool:
    """Did the event touch this client under this scheme at all?"""
    b, a = m["before"], m["after"]
    rtt_moved = (b["rtt_ms"] is None) != (a["rtt_ms"] is None) or (
        b["rtt_ms"] is not None and abs(a["rtt_ms"] - b["rtt_ms"]) > tolerance(b["rtt_ms"]))
    return m["lost"] > 0 or m["pop_changed"] or rtt_moved or bool(m.get("shares_moved_s") is not None)


def summarize_event(per_client: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Median and worst client, per scheme, over the clients the event touched."""
    out = {}
    for scheme in EVENTS:
        if not any(scheme in m for m in per_client.values()):
            continue
        ms = {c: m[scheme] for c, m in per_client.items() if scheme in m and affected(m[scheme])}

        def stat(key: str) -> dict[str, Any]:
            vals = {c: m[key] for c, m in ms.items() if m[key] is not None}
            if not vals:
                return {"median": None, "worst": None, "worst_client": None}
            worst = max(vals, key=lambda c: vals[c])
            return {"median": round(median(vals.values()), 3), "worst": vals[worst],  # type: ignore[arg-type]
                    "worst_client": worst}

        never = sorted(c for c, m in ms.items() if m["stable_s"] is None)
        out[scheme] = {"affected_clients": len(ms), "clients_losing": sum(1 for m in ms.values() if m["lost"] > 0),
                       "lost": stat("lost"), "loss_window_s": stat("loss_window_s"),
                       "stable_s": stat("stable_s"), "not_stable": never,
                       "pop_changed": sorted(c for c, m in ms.items() if m["pop_changed"])}
        if scheme != "global":
            out[scheme]["shares_moved_s"] = stat("shares_moved_s")
    return out


def binned(pts: list[Point], start: float, end: float, width: float) -> dict[str, list[Any]]:
    """Per time bin: median RTT of the answered points and the mean loss."""
    n = max(1, math.ceil((end - start) / width - 1e-9))
    rtt: list[list[float]] = [[] for _ in range(n)]
    loss: list[list[float]] = [[] for _ in range(n)]
    for p in pts:
        i = int((p[0] - start) // width)
        if 0 <= i < n:
            loss[i].append(p[2])
            if p[1] is not None:
                rtt[i].append(p[1])
    return {"rtt_ms": [None if not v else round(median(v), 3) for v in rtt],  # type: ignore[arg-type]
            "loss": [None if not v else round(sum(v) / len(v), 4) for v in loss]}


def analyse(rows: list[dict[str, Any]], t0: float, end: float, marks: list[Mark],
            providers: list[str], pops: list[str], steering: Steering, window_s: float,
            interval: float, warmup_s: float, bin_s: float = 1.0, random_loss: bool = True,
            live: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    """Events section, time series and shares over time for report.json.

    ``end`` is the timeline's length; windows are aligned on 0 (the start of
    the timeline) and begin in the warm-up, so shares are in effect at 0.
    ``live``: the steering log of the run (its published shares per window,
    after the capacity headroom); the IPA share model then uses those, from
    when the loop published them, instead of recomputing them (runs without
    it: recomputed from the samples, as a live loop would)."""
    per = split(rows, t0)
    w_start = first_window_start(warmup_s, window_s)
    if live:
        wins = {c: live_windows(live, c) for c in per}
    else:
        wins = {c: window_shares(p, providers, w_start, end, steering, window_s) for c, p in per.items()}
    all_in = replace(steering, cap=1.0, floor=0.0)
    pts = {c: points(p, providers, pops, wins[c], interval,
                     window_shares(p, providers, w_start, end, all_in, window_s)) for c, p in per.items()}
    events = []
    for i, m in enumerate(marks):
        tn = next((x.t for x in marks[i + 1:] if x.t > m.t), end)
        tp = next((x.t for x in reversed(marks[:i]) if x.t < m.t), w_start)
        per_client = {}
        for c in sorted(pts):
            per_client[c] = {"global": event_metrics(pts[c]["global"], m.t, tn, tp, random_loss=random_loss)}
            for s in ("ipa", "ipa_model"):
                if pts[c].get(s):
                    routes = None if s != "ipa" else {
                        k: as_points(per[c].get(f"provider:{k}", [])) for k in providers}
                    per_client[c][s] = event_metrics(pts[c][s], m.t, tn, tp, routes, random_loss)
                    per_client[c][s].update(share_move(wins[c], m.t, tn))
        events.append({"t_s": round(m.t, 3), "label": m.label, "kind": m.kind, "phase": m.phase,
                       "span_s": round(tn - m.t, 3), "summary": summarize_event(per_client),
                       "clients": per_client})
    n_bins = max(1, math.ceil((end - w_start) / bin_s - 1e-9))
    series: dict[str, Any] = {"bin_s": bin_s, "t": [round(w_start + i * bin_s, 3) for i in range(n_bins)],
                              "clients": {}, "median": {}}
    schemes = [s for s in (*SCHEMES, "ipa_model", "all_in") if any(p.get(s) for p in pts.values())]
    for c in sorted(pts):
        series["clients"][c] = {s: binned(pts[c].get(s, []), w_start, end, bin_s) for s in schemes}
    for s in schemes:
        cols = [series["clients"][c][s] for c in series["clients"]]
        series["median"][s] = {
            "rtt_ms": [_med([col["rtt_ms"][i] for col in cols]) for i in range(n_bins)],
            "loss": [_mean([col["loss"][i] for col in cols]) for i in range(n_bins)]}
    shares = {c: [{"from": w["from"], "shares": w["shares"]} for w in wins[c]] for c in sorted(wins)}
    return {"window_s": window_s, "interval_s": interval, "start_s": w_start, "end_s": end,
            "events": events, "series": series, "shares": shares,
            "shares_source": "live" if live else "model"}


def live_windows(log: list[dict[str, Any]], client: str) -> list[dict[str, Any]]:
    """One client's published shares from the steering log, in force from
    when the loop published them (``t_s``); a window that gave the client
    nothing new keeps its previous shares (the loop does the same)."""
    out: list[dict[str, Any]] = []
    prev: dict[str, float] = {}
    for e in sorted(log, key=lambda e: e["t_s"]):
        sh = e["shares"].get(client) or prev
        out.append({"from": e["t_s"], "window": e["window"], "shares": sh})
        prev = sh
    return out


def _med(v: list[Optional[float]]) -> Optional[float]:
    x = [a for a in v if a is not None]
    return None if not x else round(median(x), 3)  # type: ignore[arg-type]


def _mean(v: list[Optional[float]]) -> Optional[float]:
    x = [a for a in v if a is not None]
    return None if not x else round(sum(x) / len(x), 4)


def most_affected(events: list[dict[str, Any]], n: int = 4) -> list[str]:
    """Clients to plot by default: those the events hurt most (lost traffic,
    then the largest RTT change), across schemes."""
    score: dict[str, float] = defaultdict(float)
    for ev in events:
        for c, m in ev["clients"].items():
            for s in ("global", "ipa"):
                x = m[s]
                b, a = x["before"]["rtt_ms"], x["after"]["rtt_ms"]
                score[c] += 1000 * x["lost"] + (abs(a - b) if a is not None and b is not None else 0)
    ranked = sorted(score, key=lambda c: (-score[c], c))
    return [c for c in ranked if score[c] > 0][:n] or ranked[:n]
