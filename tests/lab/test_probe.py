"""The responder and the probe talk over loopback (no root needed)."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

from anycastlab.agents.probe_once import probe_all

from conftest import ROOT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_responder_names_its_pop_and_echoes_token(tmp_path):
    port = free_port()
    ready = tmp_path / "ready"
    p = subprocess.Popen([sys.executable, "-m", "anycastlab.agents.responder", "--pop", "lon", "--port",
                          str(port), "--ready", str(ready), "127.0.0.1"], cwd=ROOT)
    try:
        deadline = time.monotonic() + 10
        while not ready.exists():
            assert time.monotonic() < deadline and p.poll() is None
            time.sleep(0.02)
        res = probe_all({"g": "127.0.0.1", "dead": "127.0.0.2"}, timeout=0.5, tries=2, port=port)
        assert res["g"]["pop"] == "lon" and res["g"]["rtt_ms"] < 100
        assert res["dead"]["pop"] is None and res["dead"]["rtt_ms"] is None  # lost, not dropped
    finally:
        p.terminate()
        p.wait(timeout=5)
