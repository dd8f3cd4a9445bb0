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

from collections import Counter, defaultdict
from typing import Any, Optional

from .baseline import median, percentile
from .timeline import SHARE_MOVE

STAGES = ("window_end_s", "ranked_s", "zone_s", "answer_s", "recovered_s")


def summary(rows: list[dict[str, Any]], addr_provider: dict[str, str]) -> dict[str, Any]:
    """Resolutions in a run: totals, per status, reply times, per client."""
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {"queries": 0, "failed": 0,
                                                          "answers": Counter()})
    status: Counter[str] = Counter()
    rtts = []
    for r in rows:
        c = per[r["client"]]
        c["queries"] += 1
        status[r["status"]] += 1
        if r["status"] != "ok":
            c["failed"] += 1
            continue
        rtts.append(r["rtt_ms"])
        if r["name"] == "ipa":
            c["answers"][addr_provider.get(r["answer"], r["answer"])] += 1
    return {"queries": len(rows), "failed": len(rows) - status.get("ok", 0),
            "by_status": dict(status),
            "reply_ms": {"median": _r(median(rtts)), "p90": _r(percentile(rtts, 90))},
            "clients": {c: {"queries": v["queries"], "failed": v["failed"],
                            "ipa_answers": dict(v["answers"])} for c, v in sorted(per.items())}}


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
