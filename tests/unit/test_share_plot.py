"""Shares over time (report/timeplots.py): which networks are drawn, and the
plot written for a synthetic timeline; the headroom's sentence in the report."""
from __future__ import annotations

from pathlib import Path

from anycastlab.report.tables import headroom_line
from anycastlab.report.timeplots import headroom_marks, share_clients, shares_over_time


def timeline(n: int) -> dict:
    clients = [f"c{i}" for i in range(n)]
    shares = {c: [{"from": -5.0, "shares": {"a": 0.9, "b": 0.1}}, {"from": 0.0, "shares": {"a": 0.9, "b": 0.1}},
                  {"from": 5.0, "shares": {"a": 0.9, "b": 0.1}}] for c in clients}
    moved = {"c3": {"b": 1.0}, "c5": {"a": 0.5, "b": 0.5}}   # c3 moves 0.9, c5 0.4
    for c, after in moved.items():
        if c in shares:
            shares[c][2]["shares"] = after
    ev_clients = {c: {"global": {}, "ipa": {"shares_before": {"a": 0.9, "b": 0.1},
                                            "shares_after": moved.get(c, {"a": 0.9, "b": 0.1})}}
                  for c in clients}
    return {"shares": shares, "events": [{"t_s": 3.0, "label": "cut a", "clients": ev_clients}],
            "phases": [{"name": "p", "start_s": 0.0}], "plot_clients": ["c7", "c3"], "start_s": -5.0,
            "end_s": 10.0, "window_s": 5.0, "shares_source": "live",
            "steering_log": [{"t_s": 5.0, "window": [0, 5], "shares": {}, "ranked": {"c3": {"a": 0.9}}}]}


def test_the_networks_the_events_moved_most_then_the_plot_clients() -> None:
    tl = timeline(8)
    # c3 moved 0.9, c5 0.4; then the plot clients fill up (c7; c3 is already in)
    assert share_clients(tl, n=3) == ["c3", "c5", "c7"]
    assert share_clients(tl, n=1) == ["c3"]
    assert share_clients(timeline(4)) == ["c0", "c1", "c2", "c3"]   # few networks: all of them
    assert headroom_marks(tl, "c3") == [5.0] and headroom_marks(tl, "c5") == []


def test_the_plot_is_written_for_a_synthetic_timeline(tmp_path: Path) -> None:
    out = shares_over_time(timeline(8), ["a", "b"], tmp_path / "shares.png", "synthetic")
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"


def test_the_headroom_sentence() -> None:
    steer = {"steering": {"headroom": 0.8}}
    rec = {"over": {"cdn-x>a-x": 0.95}, "moves": [{}], "unresolved": []}
    assert headroom_line(steer, rec) == ("Capacity headroom 80%: under the ranked shares cdn-x>a-x 95%; "
                                         "1 move of share to the networks' next providers.")
    tl = {**steer, "timeline": timeline(2)}
    tl["timeline"]["steering_log"] = [{"moves": [{"port": "p"}]}, {"moves": [], "unresolved": [{"port": "q"}]}]
    assert headroom_line(tl) == ("Capacity headroom 80% (no share may push a CDN port past it): the live loop "
                                 "moved shares in 1 of 2 windows, off p; still over the limit at times: q.")
    assert headroom_line({"steering": {"headroom": 0.0}}) == "Capacity headroom: off."
    assert headroom_line({"steering": {"cap": 0.9}}) is None
