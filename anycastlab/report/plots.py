"""PNG plots of a report: RTT CDF per scheme, catchment maps, WAN heatmap.

Pure matplotlib (Agg backend), no map tiles and no network: the map is
longitude/latitude with coastlines and borders read from an installed
package (report/geo.py; a bare graticule and a note without it), client to
PoP drawn as great-circle arcs, cities labelled.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..model.schemes import BY_KEY, SCHEMES  # noqa: E402
from . import geo  # noqa: E402


def save(fig: Any, out: Path, dpi: int = 100) -> Path:
    """Write a figure and free it (pyplot keeps every open figure otherwise)."""
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


CDF_SCHEMES = [(s.key, s.plot_label, s.colour) for s in SCHEMES if not s.model]


def _rtt(c: dict[str, Any], scheme: str) -> Any:
    return c[scheme]["rtt_ms"] if BY_KEY[scheme].measured else c["floor_rtt_ms"]


def cdf(phase: dict[str, Any], out: Path, title: str, schemes: list[str]) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    for scheme, label, color in CDF_SCHEMES:
        if scheme not in schemes:
            continue
        v = sorted(x for x in (_rtt(c, scheme) for c in phase["clients"].values()) if x is not None)
        if not v:
            continue
        y = [0.0] + [(i + 1) / len(v) for i in range(len(v))]
        ax.step([v[0]] + v, y, where="post", label=label, color=color,
                linestyle="-" if BY_KEY[scheme].measured else "--", linewidth=2)
    ax.set_xlim(left=0)
    ax.set_xlabel("RTT per client network, ms (median of probes; IPA: share-weighted over providers)")
    ax.set_ylabel("fraction of client networks")
    ax.set_ylim(0, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    return save(fig, out, 110)


def _links(c: dict[str, Any], scheme: str) -> list[tuple[Any, float]]:
    """(PoP, traffic share) pairs a client's map lines go to under a scheme."""
    if scheme == "global":
        return [(c["global"]["pop"], 1.0)]
    return [(c["ipa"]["pops"].get(k), s) for k, s in c["ipa"]["shares"].items()]


def _extent(topo: Any, arcs: list[np.ndarray]) -> tuple[float, float, float, float]:
    """The cities and every arc with a margin; the whole width when an arc
    wraps around the antimeridian (it then spans both edges)."""
    lons = [c.lon for c in topo.cities.values()] + [x for a in arcs for x in a[:, 0]]
    lats = [c.lat for c in topo.cities.values()] + [y for a in arcs for y in a[:, 1]]
    x0, x1 = max(-180.0, min(lons) - 20), min(180.0, max(lons) + 20)
    return x0, x1, max(-80.0, min(lats) - 12), min(85.0, max(lats) + 12)


def catchment_map(topo: Any, phase: dict[str, Any], out: Path, title: str) -> Path:
    """Global anycast above, IPA below: each client's arc to the PoP it reached."""
    pops = {p: topo.cities[p] for p in topo.cdn.cities}
    base = geo.load()
    drawn: dict[str, list[tuple[list[np.ndarray], bool, float, str]]] = {}
    for scheme in ("global", "ipa"):
        drawn[scheme] = []
        for cid, c in phase["clients"].items():
            city = topo.cities[c["city"]]
            for pop, share in _links(c, scheme):
                if pop is None or pop not in pops:
                    continue
                arc = geo.great_circle(city.lon, city.lat, pops[pop].lon, pops[pop].lat)
                drawn[scheme].append((arc, pop != c["optimal"]["pop"], share, cid))
    # the view holds every arc carrying >= 5 % (fainter exploration arcs are drawn, clipped)
    x0, x1, y0, y1 = _extent(topo, [a for rows in drawn.values() for arc, _, share, _ in rows
                                    if share >= 0.05 for a in arc])
    width = 12
    height = max(3.5, width * (y1 - y0) / (x1 - x0)) * 2 + 1.5
    fig, axes = plt.subplots(2, 1, figsize=(width, min(height, 14)))
    for ax, scheme in zip(axes, ("global", "ipa")):
        geo.draw(ax, base)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.grid(True, **({"alpha": 0.5, "color": "#b8c4cc", "linewidth": 0.5} if base.ok else {"alpha": 0.3}))
        ax.set_axisbelow(True)
        ax.set_aspect("equal")
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        off = 0.0
        for arc, bad, share, _ in drawn[scheme]:
            off += share if bad else 0
            small = share < 0.05  # exploration traffic: thin and dotted
            for piece in arc:
                ax.plot(piece[:, 0], piece[:, 1], color="#d62728" if bad else "#2ca02c",
                        alpha=0.2 if small else 0.3 + 0.6 * share, linewidth=0.5 if small else 0.8 + 2.4 * share,
                        linestyle=":" if small else "-", zorder=1, solid_capstyle="round")
        for cid, c in phase["clients"].items():
            city = topo.cities[c["city"]]
            ax.scatter([city.lon], [city.lat], s=18, color="#333333", zorder=3)
            ax.annotate(cid, (city.lon, city.lat), xytext=(3, -9), textcoords="offset points",
                        fontsize=6.5, color="#333333")
        for p, city in pops.items():
            ax.scatter([city.lon], [city.lat], marker="^", s=140, color="#ff7f0e",
                       edgecolor="black", zorder=4)
            ax.annotate(f"PoP {city.name}", (city.lon, city.lat), xytext=(4, 6),
                        textcoords="offset points", fontsize=8, weight="bold")
        n = len(phase["clients"])
        label = "global anycast: client → PoP reached through G" if scheme == "global" else \
            "IPA: client → PoP of each provider prefix, width = traffic share (dotted: < 5 %)"
        ax.set_title(f"{label}\n(great-circle arcs; red: not the client's optimal PoP; {off:.1f} of {n} "
                     "client networks' traffic off optimal)", fontsize=10)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, out, 100)


def wan_heatmap(phase: dict[str, Any], providers: list[str], out: Path, title: str) -> Path:
    clients = sorted(phase["clients"])
    data = [[phase["clients"][c]["wan"].get(k, float("nan")) for k in providers] for c in clients]
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(providers), 1.2 + 0.32 * len(clients)))
    im = ax.imshow(data, cmap="RdYlGn", vmin=-0.5, vmax=0.5, aspect="auto")
    ax.set_xticks(range(len(providers)), labels=[f"P_{k}" for k in providers])
    ax.set_yticks(range(len(clients)), labels=clients)
    for i, row in enumerate(data):
        for j, v in enumerate(row):
            if v == v:  # not NaN
                share = phase["clients"][clients[i]]["ipa"]["shares"].get(providers[j], 0)
                ax.text(j, i, f"{v:+.2f}\n{share:.0%}", ha="center", va="center", fontsize=6.5)
    fig.colorbar(im, ax=ax, label="WAN score = wins − 0.5")
    ax.set_title(f"{title}\nWAN score per client network and provider (and IPA share)", fontsize=10)
    fig.tight_layout()
    return save(fig, out, 110)


def load_plot(load: dict[str, Any], out: Path, title: str, top: int = 12) -> Path:
    """The busiest link directions (analysis/load.py). At rest: peak and mean
    utilisation as bars; through a timeline: utilisation per window of the
    busiest, so steering and load can be seen moving together."""
    summary = load["summary"]
    rows = summary["links"][:top]
    timed = [e for e in load.get("log", []) if e.get("t_s") is not None]
    fig, ax = plt.subplots(figsize=(9, 5))
    if len(timed) > 2:
        for r in rows[:6]:
            ts = [e["t_s"] for e in timed]
            ax.step(ts, [(e["links"].get(r["link"]) or [0, 0, 0])[2] * 100 for e in timed], where="post",
                    label=r["link"].replace(">", " → "))
        ax.set_xlabel("time (s, event clock; each value holds for one steering window)")
        ax.set_ylabel("utilisation (%)")
        ax.legend(fontsize=8, loc="upper left")
    else:
        names = [r["link"].replace(">", " → ") for r in rows][::-1]
        ax.barh(names, [r["peak_rho"] * 100 for r in rows][::-1], color="#d62728", alpha=0.35, label="peak")
        ax.barh(names, [r["mean_rho"] * 100 for r in rows][::-1], color="#1f77b4", alpha=0.8, label="mean")
        ax.set_xlabel("utilisation (%)")
        ax.tick_params(axis="y", labelsize=8)
        ax.legend(fontsize=8, loc="lower right")
    for x, style in ((80, ":"), (100, "--")):
        (ax.axhline if len(timed) > 2 else ax.axvline)(x, color="grey", linestyle=style, linewidth=1)
    ax.set_title(f"{title}: busiest link directions (dotted: hot, 80 %; dashed: capacity)", fontsize=10)
    fig.tight_layout()
    return save(fig, out)
