"""Loss windows and stability on smoothed bins, so that a client whose links
vary (model/variability.py) but whose route has settled reads as settled.

The span after an event is cut into ``BIN_S`` bins from the event on (a last
bin shorter than half a bin joins the one before it).

* A bin is **lossy** when the client's background loss cannot explain it:
  with background p = max(loss before the event, loss in the final window,
  and 0.5 % if any link of the run drops packets at random), a bin of n
  probes with k lost is lossy if P(X >= k) < 0.001 for X ~ Binomial(n, p).
  A run whose links drop nothing at random has p = 0 unless loss was seen
  around the event: every lost probe is then the event's, as before.
  Lost probes outside lossy bins (the links' own random loss, or a single
  stray drop) count in ``lost`` but open no loss window.
* A bin is **off** when most of its answers come from another PoP than the
  final one, or when the median deviation of its answers from their final
  RTT exceeds the band max(1 ms, 10 % of the final RTT, 2 x the
  interquartile range of a settled probe's RTT, the larger of the windows
  before the event and at the end of its span). An off bin counts when its neighbour is off
  too: one bin off is a burst of queueing, two in a row are a route moving.
* ``stable_s`` is the start of the first bin after the last lossy or counted
  off bin: 0 if there was none, None if the span ends unsettled.

Without variability (no loss, IQR 0) these are the per-probe rules the
metrics had before, at the resolution of a bin.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

from .baseline import median

BIN_S = 1.0
MIN_BACKGROUND = 0.005  # the loss a clean run is assumed to have, for the binomial test
P_LOSSY = 0.001         # a bin's loss this unlikely under the background is the event's
IQR_BAND = 2.0          # the RTT band: this many interquartile ranges of a settled probe

Point = tuple[float, Optional[float], float, Optional[str], Optional[str]]  # t, rtt_ms, lost, pop, via


def bins(span: list[Point], te: float, tn: float, width: float = BIN_S) -> list[list[Point]]:
    """The span's points in bins of ``width`` from ``te``; a short last bin joins the previous one."""
    n = max(1, math.ceil((tn - te) / width - 1e-9))
    out: list[list[Point]] = [[] for _ in range(n)]
    for p in span:
        out[min(n - 1, int((p[0] - te) // width))].append(p)
    if n > 1 and (tn - te) - (n - 1) * width < width / 2:
        out[-2].extend(out.pop())
    return out


def lossy(points: list[Point], background: float, floor: float = MIN_BACKGROUND) -> bool:
    """More loss in this bin than the client's background loss explains."""
    if not points:
        return False
    n, k = len(points), math.ceil(sum(p[2] for p in points) - 1e-9)
    p = min(max(background, floor), 0.5)
    if p <= 0:
        return k > 0  # nothing drops at random here: any loss is the event's
    tail = sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k, n + 1))
    return k > 0 and tail < P_LOSSY


def iqr(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[(3 * len(xs)) // 4] - xs[len(xs) // 4] if len(xs) >= 4 else 0.0


def band(tail: list[Point], before: list[Point], ref_rtt: Optional[float],
         final: Callable[[Point], dict[str, Any]]) -> float:
    """How far a bin's median may stray from the final RTT and still count as
    settled; the noise is the larger IQR of the settled windows before and after."""
    noise = max(iqr(deviations(tail, final)), iqr([p[1] for p in before if p[1] is not None]))
    return max(1.0, 0.1 * (ref_rtt or 0.0), IQR_BAND * noise)


def deviations(points: list[Point], final: Callable[[Point], dict[str, Any]]) -> list[float]:
    """Each answered probe's RTT minus the final RTT of its route."""
    out = []
    for p in points:
        ref = final(p)["rtt_ms"]
        if p[1] is not None and ref is not None:
            out.append(p[1] - ref)
    return out


def off(points: list[Point], final: Callable[[Point], dict[str, Any]], width: float) -> bool:
    """Most answers from another PoP, or the median deviation beyond the band."""
    answered = [p for p in points if p[1] is not None]
    if not answered:
        return False  # nothing answered: lossy() judges such a bin
    if sum(1 for p in answered if p[3] != final(p)["pop"]) * 2 > len(answered):
        return True
    return abs(median(deviations(answered, final))) > width  # type: ignore[arg-type]


def judge(span: list[Point], te: float, tn: float, tail_from: float, before: list[Point],
          final: Callable[[Point], dict[str, Any]], after: dict[str, Any],
          random_loss: bool = True) -> dict[str, Any]:
    """Loss window (over lossy bins) and stability of one client's span after an
    event; ``random_loss``: whether any link of the run drops packets at random."""
    bg = max(sum(p[2] for p in before) / len(before) if before else 0.0, after["loss"] or 0.0)
    parts = bins(span, te, tn)
    width = band([p for p in span if p[0] >= tail_from], before, after["rtt_ms"], final)
    floor = MIN_BACKGROUND if random_loss else 0.0
    bad_loss = [lossy(b, bg, floor) for b in parts]
    bad_rtt = [off(b, final, width) for b in parts]
    n = len(parts)
    bad = [bad_loss[i] or (bad_rtt[i] and ((i > 0 and bad_rtt[i - 1]) or (i + 1 < n and bad_rtt[i + 1])))
           for i in range(n)]
    lost = [p for b, bl in zip(parts, bad_loss) if bl for p in b if p[2] > 0]
    if not span or after["rtt_ms"] is None:
        stable: Optional[float] = None      # never answered again within the span
    elif not any(bad):
        stable = 0.0                        # nothing to recover from
    elif bad[-1]:
        stable = None                       # still unsettled at the end of the span
    else:
        last = max(i for i, x in enumerate(bad) if x)
        stable = round((last + 1) * BIN_S, 3)
    return {"first_lost_s": round(lost[0][0] - te, 3) if lost else None,
            "last_lost_s": round(lost[-1][0] - te, 3) if lost else None,
            "loss_window_s": round(lost[-1][0] - lost[0][0], 3) if lost else 0.0,
            "band_ms": round(width, 3), "stable_s": stable,
            "stable_pop": after["pop"] if stable is not None else None}
