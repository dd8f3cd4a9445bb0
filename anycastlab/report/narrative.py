"""The report's opening paragraph: what the numbers say, in words, computed
from the phase's data (nothing here is written by hand per run).

Where IPA beats global anycast, by how much (over requests, and per client
network by its median RTT), for which networks and through which providers;
where it loses, and the reason the data gives: DNS answered another
provider than the zone favours (too few answers to follow the shares), the
favoured provider's path is slower than global's, or probes were lost.
"""
from __future__ import annotations

from typing import Any, Optional

from ..analysis.requests import headline

MARGIN_MS = 1.0   # a network wins or loses by more than this; closer is a tie


def _ms(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.1f} ms"


def _why_lost(c: dict[str, Any]) -> str:
    ipa, g = c["ipa"], c["global"]
    zone = ipa.get("shares") or {}
    top = max(zone, key=lambda k: zone[k]) if zone else None
    answers = ipa.get("answers") or {}
    if answers and top is not None and answers.get(top, 0.0) < zone[top] - 0.25:
        got = max(answers, key=lambda k: answers[k])
        return (f"DNS answered {got} for {answers[got]:.0%} of its probes while the zone gave "
                f"{top} {zone[top]:.0%}")
    if ipa.get("lost"):
        return f"{ipa['lost']} of its IPA probes were lost"
    if top is not None:
        p = c["providers"].get(top, {})
        return (f"its favoured provider {top} reaches {p.get('pop') or '?'} in {_ms(p.get('rtt_ms'))}, "
                f"global anycast {g.get('pop') or '?'} in {_ms(g.get('rtt_ms'))}")
    return "it had no IPA answer"


def paragraph(phase: dict[str, Any]) -> str:
    """One paragraph comparing IPA with global anycast in this phase."""
    summ = phase["summary"]
    if "global" not in summ or "ipa" not in summ:
        return ""
    g, i = headline(summ["global"]), headline(summ["ipa"])
    if g.get("median_rtt_ms") is None or i.get("median_rtt_ms") is None:
        return "Too few answers to compare IPA with global anycast."
    d = i["median_rtt_ms"] - g["median_rtt_ms"]
    verdict = ("lower" if d < -MARGIN_MS else "higher" if d > MARGIN_MS else "about the same")
    text = [f"IPA's median request took {_ms(i['median_rtt_ms'])} against global anycast's "
            f"{_ms(g['median_rtt_ms'])} ({verdict}; p90 {_ms(i['p90_rtt_ms'])} against "
            f"{_ms(g['p90_rtt_ms'])})."]
    delta = {}
    for cid, c in phase["clients"].items():
        a, b = c["ipa"].get("rtt_ms"), c["global"].get("rtt_ms")
        if a is not None and b is not None:
            delta[cid] = a - b
    wins = sorted((c for c in delta if delta[c] < -MARGIN_MS), key=lambda c: delta[c])
    losses = sorted((c for c in delta if delta[c] > MARGIN_MS), key=lambda c: -delta[c])
    if wins:
        def via(cid: str) -> str:
            sh = phase["clients"][cid]["ipa"].get("shares") or {}
            k = max(sh, key=lambda x: sh[x]) if sh else "?"
            return f"{cid} ({-delta[cid]:.1f} ms faster, via {k})"
        text.append(f"IPA is faster for {len(wins)} of {len(delta)} client networks, most for "
                    + ", ".join(via(c) for c in wins[:3]) + ".")
    if losses:
        worst = losses[0]
        text.append(f"It is slower for {len(losses)}: most for {worst} (+{delta[worst]:.1f} ms), where "
                    f"{_why_lost(phase['clients'][worst])}"
                    + (f"; then {', '.join(f'{c} (+{delta[c]:.1f} ms)' for c in losses[1:3])}"
                       if len(losses) > 1 else "") + ".")
    ties = len(delta) - len(wins) - len(losses)
    if ties:
        text.append(f"{ties} network{'s' if ties != 1 else ''} see{'' if ties != 1 else 's'} no "
                    f"difference beyond {MARGIN_MS:g} ms.")
    return " ".join(text)
