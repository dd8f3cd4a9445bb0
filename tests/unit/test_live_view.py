"""The live view without a lab: its state from probe rows, events and health
rows; its server (in this process, on a free loopback port) serving the
page, the state and the basemap; the command line refusing a busy port
before anything is built."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from types import SimpleNamespace

from anycastlab.live.server import outlines, serve
from anycastlab.live.state import HISTORY_S, LiveState
from anycastlab.model.topofile import load_topology

from conftest import ROOT, TOPOLOGIES


def tiny_state() -> LiveState:
    return LiveState(load_topology(TOPOLOGIES / "tiny.yaml"), ["tra", "trb"])


def test_the_newest_probe_decides_and_a_loss_shows_as_lost() -> None:
    st = tiny_state()
    t = st.t0
    st.sample(t + 1, "c2", "global", 86.4, "nyc")
    st.sample(t + 0.5, "c2", "global", 3.5, "lon")      # older, answered late: ignored
    assert st.snapshot()["clients"]["c2"]["schemes"]["global"] == {"pop": "nyc", "rtt_ms": 86.4, "lost": 0}
    st.sample(t + 2, "c2", "global", None, None)
    assert st.snapshot()["clients"]["c2"]["schemes"]["global"] == {"pop": None, "rtt_ms": None, "lost": 1}
    st.sample(t + 3, "c2", "global", 3.5, "lon")
    snap = st.snapshot()
    assert snap["clients"]["c2"]["schemes"]["global"]["pop"] == "lon"
    assert [list(p) for p in snap["history"]["c2|global"]] == [[1.0, 86.4], [2.0, None], [3.0, 3.5]]
    st.sample(t + 1, "nobody", "global", 1.0, "nyc")    # not a client of this topology
    st.sample(t + 1, "c1", "unicast:nyc", 1.0, "nyc")   # not a scheme the page shows
    assert "nobody" not in st.snapshot()["clients"] and st.snapshot()["clients"]["c1"]["schemes"] == {}


def test_history_keeps_the_last_two_minutes() -> None:
    st = tiny_state()
    for i in range(int(HISTORY_S) + 30):
        st.sample(st.t0 + i, "c1", "global", 2.5, "nyc")
    pts = st.snapshot()["history"]["c1|global"]
    assert pts[0][0] >= 29 and len(pts) <= HISTORY_S + 1


def test_events_and_health() -> None:
    st = tiny_state()
    st.event("cut nyc–lon (2 links)", st.t0 + 4.0)
    row = {"t_s": 1.0, "packets": 100, "late_p50_us": 0, "late_p99_us": 2500, "late_max_us": 3000,
           "kernel_drops": 0, "held_max": 1, "stall_max_us": 10}
    st.health_row(row)
    st.health_row({**row, "late_p99_us": 40})
    snap = st.snapshot()
    assert snap["events"] == [{"t_s": 4.0, "label": "cut nyc–lon (2 links)"}]
    assert snap["health"]["late_seconds"] == 1 and snap["health"]["last"]["late"] is False


def test_server_serves_page_state_and_basemap_on_loopback() -> None:
    st = tiny_state()
    st.sample(st.t0 + 1, "c2", "global", 86.4, "nyc")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = serve(SimpleNamespace(state=st), "127.0.0.1", port)
    try:
        base = f"http://127.0.0.1:{port}"
        page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
        assert "<title>anycastlab live</title>" in page and "http" not in page.split("<script>")[1].replace(
            "/api/", "")  # no script or style fetched from anywhere else
        snap = json.loads(urllib.request.urlopen(base + "/api/state", timeout=5).read())
        assert snap["clients"]["c2"]["schemes"]["global"]["pop"] == "nyc" and snap["topology"] == "tiny"
        bm = json.loads(urllib.request.urlopen(base + "/api/basemap", timeout=10).read())
        assert bm["note"] is None and len(bm["coasts"]) > 100
    finally:
        server.stop()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_basemap_is_thinned_but_keeps_every_line_end() -> None:
    full, thin = outlines(step=1), outlines(step=3)
    assert len(full["coasts"]) == len(thin["coasts"])
    assert sum(map(len, thin["coasts"])) < 0.5 * sum(map(len, full["coasts"]))
    assert all(a[-1] == b[-1] for a, b in zip(full["coasts"], thin["coasts"]))


def test_a_busy_port_is_refused_before_anything_is_built(tmp_path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = subprocess.run([sys.executable, "-m", "anycastlab.cli", "up", "tiny", "--live", str(port),
                              "--runs-dir", str(tmp_path / "runs")], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert f"port {port}" in res.stderr and "--live PORT" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "runs").exists()
    bad = subprocess.run([sys.executable, "-m", "anycastlab.cli", "up", "tiny", "--live", "80"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "out of range" in bad.stderr
