"""Plots of a scenario through time: RTT over time with event markers, the
loss windows as a strip chart, and IPA shares over time.

Input is the report's ``timeline`` section only, so ``anycastlab report``
can redraw them from a saved run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..model.schemes import MEASURED, SCHEMES, selected  # noqa: E402
from .plots import save  # noqa: E402

COLORS = {s.key: s.colour for s in SCHEMES if s.measured}
LABELS = {s.key: s.time_label for s in SCHEMES if s.measured}
MODELS = {s.key for s in SCHEMES if s.model}
PROVIDER_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                   "#7f7f7f"]


def _markers(ax: Any, tl: dict[str, Any], labels: bool = False) -> None:
    for i, ev in enumerate(tl["events"]):
        ax.axvline(ev["t_s"], color="black", linestyle="--", linewidth=0.8, alpha=0.7)
        if labels:
            ax.annotate(f"{i + 1}: {ev['label']}", (ev["t_s"], 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -12 - 10 * (i % 3)), textcoords="offset points", fontsize=7.5)
    for ph in tl["phases"][1:]:
        ax.axvline(ph["start_s"], color="#999999", linewidth=0.5)


def _steps(ax: Any, t: list[float], y: list[Any], **kw: Any) -> None:
    xs = [a for a, b in zip(t, y) if b is not None]
    ys = [b for b in y if b is not None]
    if xs:
        ax.step(xs, ys, where="post", **kw)


def rtt_over_time(tl: dict[str, Any], out: Path, title: str, schemes: list[str],
                  late_at_s: Sequence[float] = ()) -> Path:
    """Median over clients per scheme, then one panel per selected client;
    seconds in which the emulator was late (health record) are shaded red."""
    ser = tl["series"]
    clients = [c for c in tl["plot_clients"] if c in ser["clients"]]
    n = 1 + len(clients)
    fig, axes = plt.subplots(n, 1, figsize=(11, 2.6 * n + 0.6), sharex=True, squeeze=False)
    show = [s for s in selected(list(MEASURED), schemes) if s in ser["median"]]
    for row, (ax, who) in enumerate(zip(axes[:, 0], [None] + clients)):
        data = ser["median"] if who is None else ser["clients"][who]
        for s in show:
            label = LABELS[s] if "ipa_model" in show or s != "ipa" else "IPA (live shares)"
            _steps(ax, ser["t"], data[s]["rtt_ms"], color=COLORS[s], label=label,
                   linewidth=1.0 if s in MODELS else 1.6,
                   linestyle=":" if s in MODELS else "-")
            lossy = [(t, 1) for t, x in zip(ser["t"], data[s]["loss"]) if x]
            if lossy:  # bins with any loss: a tick on the top edge
                ax.scatter([t + ser["bin_s"] / 2 for t, _ in lossy], [1.0] * len(lossy),
                           transform=ax.get_xaxis_transform(), marker="|", s=60, color=COLORS[s],
                           clip_on=False)
        _markers(ax, tl, labels=row == 0)
        for i, t_late in enumerate(late_at_s):
            ax.axvspan(t_late, t_late + 1.0, color="#d62728", alpha=0.18, linewidth=0,
                       label="emulator late" if i == 0 and row == 0 else None)
        ax.set_ylabel("RTT ms")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.set_title("median over client networks" if who is None else f"client network {who}",
                     fontsize=9, loc="left")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel(f"seconds on the event clock ({ser['bin_s']:g} s bins; ticks on top: "
                           "bins with lost probes)")
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, out, 100)


def loss_strip(tl: dict[str, Any], out: Path, title: str) -> Path:
    """One row per client: a bar from first to last lost probe, per event and scheme."""
    clients = sorted(tl["series"]["clients"])
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.28 * len(clients)))
    width = tl["interval_s"]
    for y, c in enumerate(clients):
        for ev in tl["events"]:
            for s, dy in (("global", 0.17), ("ipa", -0.17)):
                m = ev["clients"].get(c, {}).get(s)
                if not m or m["first_lost_s"] is None:
                    continue
                x0 = ev["t_s"] + m["first_lost_s"]
                ax.broken_barh([(x0, m["loss_window_s"] + width)], (y + dy - 0.14, 0.28),
                               color=COLORS[s], alpha=0.35 + 0.65 * min(1.0, m["lost"] / 5))
    _markers(ax, tl, labels=True)
    ax.set_yticks(range(len(clients)), labels=clients, fontsize=7)
    ax.set_ylim(-0.7, len(clients) - 0.3)
    ax.set_xlim(tl["start_s"], tl["end_s"])
    ax.invert_yaxis()
    ax.set_xlabel("seconds on the event clock")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=COLORS["global"], label="global: first to last lost probe"),
                       Patch(color=COLORS["ipa"], label="IPA: first to last round losing traffic")],
              loc="lower right", fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(f"{title}\nloss windows per client network (paler: fewer probes lost)", fontsize=10)
    fig.tight_layout()
    return save(fig, out, 100)


SHARE_PANELS = 6   # networks drawn in shares.png: all of them up to this many


def share_clients(tl: dict[str, Any], n: int = SHARE_PANELS) -> list[str]:
    """The networks whose IPA shares the events moved most (total variation
    between the shares before and after each event, summed over events;
    ties by name), all of them if there are at most ``n``; the plot clients
    fill up when fewer than ``n`` moved at all."""
    clients = sorted(tl["shares"])
    if len(clients) <= n:
        return clients
    moved: dict[str, float] = {}
    for ev in tl["events"]:
        for c, per in ev["clients"].items():
            m = per.get("ipa_model") or per.get("ipa") or {}
            a, b = m.get("shares_before") or {}, m.get("shares_after") or {}
            moved[c] = moved.get(c, 0.0) + 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))
    top = [c for c in sorted(moved, key=lambda c: (-moved[c], c)) if moved[c] > 0 and c in tl["shares"]][:n]
    rest = [c for c in tl.get("plot_clients", []) if c in tl["shares"] and c not in top]
    return top + rest[:n - len(top)]


def headroom_marks(tl: dict[str, Any], client: str) -> list[float]:
    """When the capacity headroom changed this network's shares (steering log)."""
    return [e["t_s"] for e in tl.get("steering_log") or [] if client in (e.get("ranked") or {})]


def shares_over_time(tl: dict[str, Any], providers: list[str], out: Path, title: str) -> Path:
    """Stacked IPA shares per provider and window for the networks the
    events moved most (``share_clients``), event markers as dashed lines;
    a triangle on top where the capacity headroom changed the ranked shares."""
    clients = share_clients(tl)
    n = max(1, len(clients))
    fig, axes = plt.subplots(n, 1, figsize=(11, 1.9 * n + 0.8), sharex=True, squeeze=False)
    for ax, c in zip(axes[:, 0], clients):
        wins = tl["shares"][c]
        t = [w["from"] for w in wins] + [tl["end_s"]]
        bottom = [0.0] * len(t)
        for i, k in enumerate(providers):
            v = [w["shares"].get(k, 0.0) for w in wins]
            v = v + v[-1:]
            top = [b + x for b, x in zip(bottom, v)]
            ax.fill_between(t, bottom, top, step="post", color=PROVIDER_COLORS[i % 8], alpha=0.8,
                            label=f"P_{k}", linewidth=0)
            bottom = top
        marks = headroom_marks(tl, c)
        if marks:
            ax.scatter(marks, [1.0] * len(marks), marker="v", s=25, color="black", clip_on=False,
                       transform=ax.get_xaxis_transform(), label="headroom moved shares", zorder=5)
        _markers(ax, tl, labels=ax is axes[0, 0])
        ax.set_ylim(0, 1)
        ax.set_xlim(tl["start_s"], tl["end_s"])
        ax.set_ylabel("share")
        ax.set_title(f"client network {c}", fontsize=9, loc="left")
    handles: dict[str, Any] = {}
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    axes[0, 0].legend(handles.values(), handles.keys(), loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    src = "published by the live steering loop" if tl.get("shares_source") == "live" else \
        "recomputed every {:g} s from the last window's probes".format(tl["window_s"])
    axes[-1, 0].set_xlabel(f"seconds on the event clock (shares {src}; dashed: events)")
    fig.suptitle(f"{title}: IPA shares over time, the networks the events moved most")
    fig.tight_layout()
    return save(fig, out, 100)
