"""What DNS did in a run: resolutions, failures, and per event the chain
event -> measurement -> ranking -> zone -> answer -> recovery. Pure functions.

Per event and client (seconds from the event; None = did not happen
before the next event):

  window_end_s  end of the first measurement window whose ranking moved the
                client's shares (>= 5 % of its traffic) against the zone in
                force at the event: what "measurement" costs;
  ranked_s      when the steering loop ranked that window (it waits until
                every probe of the window answered or timed out);
  zone_s        when PowerDNS had reloaded the zone with those shares;
  answer_s      when the client received its first answer, after the zone
                changed, that differs from the answer it was using at the
                event (first one after the event if the zone never changed);
  recovered_s   when its IPA probes were stable again (``timeline``'s
                ``stable_s`` of the ``ipa`` scheme).

So recovery splits into measurement (window_end_s), ranking (zone_s -
window_end_s), DNS TTL (answer_s - zone_s) and the rest (recovered_s -
answer_s). docs/dns.md has a worked example.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any, Optional

from .baseline import median, percentile
from .timeline import SHARE_MOVE

STAGES = ("window_end_s", "ranked_s", "zone_s", "answer_s", "recovered_s")


Shares = dict[str, dict[str, float]]


def in_force(history: list[tuple[float, Shares]], client: str, t: float) -> dict[str, float]:
    """The client's zone entry in force at wall time t (history sorted by time)."""
    cur: dict[str, float] = {}
    for t_pub, shares in history:
        if t_pub > t:
            break
        cur = shares.get(client, {})
    return cur


def answered_vs_intended(answers: list[tuple[float, str]], history: list[tuple[float, Shares]],
                         client: str) -> Optional[dict[str, Any]]:
    """How far a network's answers are from the zone's shares.

    Each ok answer (wall time, provider) is a draw from the shares in force
    when the server answered; ``intended`` is the mean of those shares over
    the answers, ``answered`` the fractions drawn; ``distance`` the total
    variation distance (half the sum of |answered - intended|: the part of
    the traffic that went elsewhere than meant); ``z`` the largest
    deviation in standard errors (sqrt(sum p(1-p)) / n over the draws), so
    |z| <= 5 means "as the weights say" beyond reasonable doubt. None when
    no answer met a published entry (the zone had no shares for it yet)."""
    draws = [(in_force(history, client, t), k) for t, k in answers]
    draws = [(p, k) for p, k in draws if p]
    if not draws:
        return None
    n = len(draws)
    keys = sorted({k for p, _ in draws for k in p} | {k for _, k in draws})
    intended = {k: sum(p.get(k, 0.0) for p, _ in draws) / n for k in keys}
    got = Counter(k for _, k in draws)
    answered = {k: got.get(k, 0) / n for k in keys}
    z = 0.0
    for k in keys:
        var = sum(p.get(k, 0.0) * (1 - p.get(k, 0.0)) for p, _ in draws)
        dev = (got.get(k, 0) - intended[k] * n)
        z = max(z, abs(dev) / math.sqrt(var) if var > 0 else (math.inf if abs(dev) > 1e-9 else 0.0))
    return {"answers": n, "intended": {k: round(v, 4) for k, v in intended.items()},
            "answered": {k: round(v, 4) for k, v in answered.items()},
            "distance": round(0.5 * sum(abs(answered[k] - intended[k]) for k in keys), 4),
            "z": round(z, 2) if math.isfinite(z) else None}


def summary(rows: list[dict[str, Any]], addr_provider: dict[str, str],
            history: Optional[list[tuple[float, Shares]]] = None) -> dict[str, Any]:
    """Resolutions in a run: totals, per status, reply times, per client
    (resolvers, reply time, which server answered, answered vs intended
    shares when the zone's history is given)."""
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {"queries": 0, "failed": 0, "answers": Counter(),
                                                          "rtts": [], "servers": Counter(),
                                                          "resolvers": set(), "draws": []})
    status: Counter[str] = Counter()
    rtts = []
    for r in rows:
        c = per[r["client"]]
        c["queries"] += 1
        c["resolvers"].add(r.get("resolver", 0))
        status[r["status"]] += 1
        if r["status"] != "ok":
            c["failed"] += 1
            continue
        rtts.append(r["rtt_ms"])
        c["rtts"].append(r["rtt_ms"])
        if r.get("server"):
            c["servers"][r["server"]] += 1
        if r["name"] == "ipa":
            k = addr_provider.get(r["answer"], r["answer"])
            c["answers"][k] += 1
            c["draws"].append((r["t"] + r["rtt_ms"] / 1000, k))
    clients = {}
    for c, v in sorted(per.items()):
        clients[c] = {"queries": v["queries"], "failed": v["failed"], "resolvers": len(v["resolvers"]),
                      "reply_ms": _r(median(v["rtts"])), "servers": dict(v["servers"].most_common()),
                      "server": v["servers"].most_common(1)[0][0] if v["servers"] else None,
                      "ipa_answers": dict(v["answers"])}
        if history:
            clients[c]["shares"] = answered_vs_intended(sorted(v["draws"]), history, c)
    dist = [v["shares"]["distance"] for v in clients.values() if v.get("shares")]
    return {"queries": len(rows), "failed": len(rows) - status.get("ok", 0),
            "by_status": dict(status),
            "reply_ms": {"median": _r(median(rtts)), "p90": _r(percentile(rtts, 90))},
            "distance": {"median": _r(median(dist)), "max": _r(max(dist)) if dist else None},
            "clients": clients}


def _r(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 3)


def _moved(a: dict[str, float], b: dict[str, float]) -> bool:
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)) >= SHARE_MOVE


def event_timing(client: str, te: float, tn: float, zone_log: list[dict[str, Any]],
                 answers: list[tuple[float, str]], recovered_s: Optional[float]) -> dict[str, Any]:
    """The chain for one client and one event (see the module docstring).

    ``answers``: the client's ok answers for the IPA name as (receive time on
    the event clock, address), sorted."""
    out: dict[str, Any] = {k: None for k in STAGES}
    out["recovered_s"] = recovered_s
    live = [e for e in zone_log if e["ok"] and e["t_reloaded_s"] is not None]
    before = {}
    for e in live:
        if e["t_reloaded_s"] <= te:
            before = e["shares"].get(client, {})
    change = next((e for e in live if e["window"][1] > te and e["t_reloaded_s"] < tn
                   and _moved(e["shares"].get(client, {}), before)), None)
    if change is not None:
        out.update({"window_end_s": round(change["window"][1] - te, 3),
                    "ranked_s": round(change["t_ranked_s"] - te, 3),
                    "zone_s": round(change["t_reloaded_s"] - te, 3)})
    using = next((a for t, a in reversed(answers) if t <= te), None)
    after = te + (out["zone_s"] or 0.0)
    got = next((t for t, a in answers if after < t < tn and a != using), None)
    out["answer_s"] = None if got is None else round(got - te, 3)
    return out


def answers_by_client(rows: list[dict[str, Any]], t0: float) -> dict[str, list[tuple[float, str]]]:
    """Each client's ok answers for the IPA name, (receive time - t0, address)."""
    out: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for r in rows:
        if r["name"] == "ipa" and r["status"] == "ok":
            out[r["client"]].append((r["t"] + r["rtt_ms"] / 1000 - t0, r["answer"]))
    for v in out.values():
        v.sort()
    return out


def stage_summary(per_client: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Median and worst per stage over the clients whose zone entry changed."""
    moved = {c: t for c, t in per_client.items() if t["zone_s"] is not None}
    out: dict[str, Any] = {"clients": len(moved)}
    for k in STAGES:
        vals = {c: t[k] for c, t in moved.items() if t[k] is not None}
        worst = max(vals, key=lambda c: vals[c]) if vals else None
        out[k] = {"median": _r(median(vals.values())), "worst": vals.get(worst) if worst else None,
                  "worst_client": worst}
    return out
