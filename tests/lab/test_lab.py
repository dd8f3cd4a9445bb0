"""Lab tests on tiny.yaml: real namespaces, real BIRD, real packets (root)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from anycastlab.lab.lab import Lab
from anycastlab.model.addressing import client_router_name
from anycastlab.lab.record import ProcEntry, RunRecord, list_runs

from conftest import ROOT
from labutil import expected_rtt, leftovers, link_errors, owner_alive, ping_median, tolerance, wait_for

pytestmark = pytest.mark.lab


def test_converged_and_recorded(lab):
    rec = lab.record.data
    assert rec["status"] == "up" and rec["link_backend"] in ("netem", "userspace")
    assert set(rec["nodes"]) == set(lab.plan.nodes)
    for name, node in rec["nodes"].items():
        assert node["shell_pid"] > 0 and node["netns_inode"], name
    assert sum(1 for d in rec["daemons"] if d["name"] == "bird") == len(lab.plan.routers())
    for r in lab.plan.routers():
        text = lab.birdc(r.name).command("show protocols")
        ebgp = sum(1 for lk in lab.topo.links_of(r.name) if not lk.intra_as)
        ibgp = sum(len(g) - 1 for g in lab.topo.ibgp_groups(r.asid) if r.name in g)
        speaker = 1 if lab.topo.ases[r.asid].role == "cdn" else 0
        assert text.count(" BGP ") == text.count("Established") == ebgp + ibgp + speaker, text


def test_adjacent_rtt_matches_configured_latency(lab):
    errors = link_errors(lab, tolerance)
    assert not errors, errors


def test_client_rtt_equals_path_bird_chose(lab):
    """From every client host to every remote router's loopback: the RTT is
    twice... the sum of one-way latencies along the forward and reverse paths
    that BIRD installed in each node's FIB."""
    errors, checked = [], 0
    for a in lab.topo.clients():
        host = lab.plan.nodes[f"h-{a.id}"]
        src_ip = host.interfaces[0].ip
        for r in lab.plan.routers():
            if r.asid == a.id or r.site_prefix not in lab.expected_prefixes(client_router_name(a)):
                continue
            expected = expected_rtt(lab, host.name, src_ip, r.name, r.loopback)
            got = ping_median(lab, host.name, r.loopback)
            checked += 1
            if abs(got - expected) > tolerance(expected):
                errors.append(f"{host.name}->{r.name}: {got:.3f} ms, expected {expected:.3f}")
    assert checked >= 15 and not errors, errors


def test_policy_customer_route_beats_nearby_peer(lab):
    """c2 (London, behind B) reaches the New York PoP's prefix through B's own
    backbone although A is next door: a customer route beats a peer route."""
    c2 = lab.birdc("c2-lon").command(f"show route for {lab.plan.nodes['cdn-lon'].loopback} all")
    trb = lab.birdc("trb-lon").command(f"show route for {lab.plan.nodes['cdn-lon'].loopback} all")
    assert "64700 64600 64512" in c2   # via B, then its peer A, to the London PoP
    assert "BGP.local_pref: 200" in trb  # B learned the London PoP only from its peer


def test_valley_free_export_in_running_bird(lab):
    """No router exports a route learned from a peer or provider to a peer or provider."""
    bad = []
    for r in lab.plan.routers():
        asn = lab.topo.ases[r.asid].asn
        ctx_sessions = [(i.peer_node, lab.topo.relation(r.asid, lab.plan.nodes[i.peer_node].asid))
                        for i in r.interfaces if lab.plan.nodes[i.peer_node].kind == "router"
                        and lab.plan.nodes[i.peer_node].asid != r.asid]
        for peer, rel in ctx_sessions:
            if rel == "customer":
                continue
            proto = "ebgp_" + peer.replace("-", "_")
            text = lab.birdc(r.name).command(f"show route export {proto} all")
            for tag in (2, 3):
                if f"({asn}, 1, {tag})" in text:
                    bad.append(f"{r.name} exports a {'peer' if tag == 2 else 'provider'} route to {rel} {peer}")
    assert not bad, bad
    # the multi-homed client c3 gives no transit between its providers A and B
    c1_prefix = lab.plan.nodes["c1-nyc"].site_prefix
    for router in ("trb-lon", "trb-nyc"):
        text = lab.birdc(router).command(f"show route for {c1_prefix} all")
        assert "65003" not in text, text


def test_link_control(lab):
    a, b = "c3-lon", "trb-lon"
    peer_ip = lab.plan.interface(a, b).peer_ip
    lab.set_latency(a, b, 5.0)
    try:
        assert abs(ping_median(lab, a, peer_ip) - 10.0) <= tolerance(10.0)
    finally:
        lab.set_latency(a, b, lab.plan.interface(a, b).latency_ms)
    lab.link_down(a, b)
    try:
        res = lab.exec(a, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", peer_ip])
        assert res.returncode != 0 and " 2 received" not in res.stdout
        deadline = time.monotonic() + 10
        while "Established" in _session(lab, a, b) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Established" not in _session(lab, a, b), "BIRD must see the cut"
    finally:
        lab.link_up(a, b)
    deadline = time.monotonic() + 30
    while "Established" not in _session(lab, a, b):
        assert time.monotonic() < deadline, "session did not come back after link_up"
        time.sleep(0.2)


def _session(lab, a: str, b: str) -> str:
    return lab.birdc(a).command(f"show protocols ebgp_{b.replace('-', '_')}")


def test_normal_stop_leaves_nothing(lab):
    lab.stop()
    assert lab.record.data["status"] == "stopped"
    assert leftovers(lab.record) == []


def test_exception_mid_bring_up_leaves_nothing(tiny, tmp_path):
    lab = Lab(tiny, runs_dir=tmp_path)
    start_birds = lab.birds.start

    def boom() -> None:
        start_birds()
        raise RuntimeError("boom after BIRD started")

    lab.birds.start = boom  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="boom"):
            lab.start()
    finally:  # a start that wrongly succeeds must not leave its lab running
        if lab.record is not None and lab.record.data.get("status") != "stopped":
            lab.stop()
    rec = lab.record
    assert any(d["name"] == "bird" for d in rec.data["daemons"])
    assert leftovers(rec) == []


def _start_hold(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "anycastlab.cli", "up", "tiny", "--hold",
                             "--runs-dir", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if "holding the lab up" in line:
            return proc, lines
    proc.wait()
    raise AssertionError("lab did not come up:\n" + "".join(lines))


def test_sigint_during_hold_tears_down(tmp_path):
    proc, _ = _start_hold(tmp_path)
    (rec,) = list_runs(tmp_path)
    assert RunRecord.load(rec.folder).data["status"] == "up"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "torn down" in out
    assert leftovers(rec) == []


def test_lab_dies_with_its_owner(tmp_path):
    """SIGKILL the owner: its supervisor removes everything the record lists, unasked."""
    proc, _ = _start_hold(tmp_path)
    (rec,) = list_runs(tmp_path)
    sup = ProcEntry(**RunRecord.load(rec.folder).data["supervisor"])
    assert sup.alive()
    proc.kill()  # no teardown by the owner
    proc.wait()
    wait_for(lambda: RunRecord.load(rec.folder).data["status"] == "cleaned", timeout=60,
             what="the supervisor to clean up")
    assert leftovers(rec) == []
    assert RunRecord.load(rec.folder).data["cleaned_by"] == "supervisor"
    wait_for(lambda: not sup.alive(), timeout=10, what="the supervisor to exit")


def test_clean_after_owner_and_supervisor_killed(tmp_path):
    proc, _ = _start_hold(tmp_path)
    (rec,) = list_runs(tmp_path)
    sup = ProcEntry(**RunRecord.load(rec.folder).data["supervisor"])
    os.kill(sup.pid, signal.SIGKILL)  # both gone: only 'anycastlab clean' is left to do it
    wait_for(lambda: not sup.alive(), timeout=10, what="the supervisor to die")
    proc.kill()
    proc.wait()
    assert not owner_alive(rec) and leftovers(rec), "expected leftovers after SIGKILL"
    res = subprocess.run([sys.executable, "-m", "anycastlab.cli", "clean", "--runs-dir", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "cleaned" in res.stdout
    assert leftovers(rec) == []
    assert RunRecord.load(rec.folder).data["status"] == "cleaned"


def test_cli_mode_runs_node_commands_and_tears_down(tmp_path):
    """`up --cli`: node names with '-' work in Mininet's CLI, output shows, exit tears down."""
    res = subprocess.run([sys.executable, "-m", "anycastlab.cli", "up", "tiny", "--cli",
                          "--runs-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         input="h-c2 ping -c 1 10.1.1.1\nexit\n", timeout=180)
    assert res.returncode == 0, res.stderr
    assert "1 received" in res.stdout + res.stderr and "torn down" in res.stdout
    (rec,) = list_runs(tmp_path)
    assert leftovers(rec) == []


def test_two_labs_at_once_do_not_touch_each_other(tiny, tmp_path):
    """Two labs of the same topology side by side (as two users' 'up --hold'): both
    work, and tearing one down leaves the other whole."""
    a = Lab(tiny, runs_dir=tmp_path / "a", dns_settings=None)
    b = Lab(tiny, runs_dir=tmp_path / "b", dns_settings=None)
    a.start()
    try:
        b.start()
        try:
            for lab in (a, b):
                assert ping_median(lab, "h-c1", "198.19.1.1", count=3) < 10
        finally:
            b.stop()
        assert leftovers(b.record) == []
        assert ping_median(a, "h-c1", "198.19.1.1", count=3) < 10  # untouched by b's tear-down
        assert a.backend.client.stats()  # its link engine still answers
    finally:
        a.stop()
    assert leftovers(a.record) == []


def test_daemon_faults_are_noticed_within_a_second(tiny, tmp_path):
    """Each daemon kind killed once mid-run (a BIRD, an ExaBGP, PowerDNS, a
    responder, the link engine) is named within a second; a responder the lab
    stops on purpose (a PoP outage) is not a fault."""
    from anycastlab.lab.watch import DaemonWatch

    lab = Lab(tiny, runs_dir=tmp_path)
    lab.start()
    try:
        daemons = {(d.name, d.node): d for d in lab.record.daemons()}
        victims = [daemons[("bird", "tra-lon")], daemons[("exabgp", "e-lon")], daemons[("pdns", "e-nyc")],
                   daemons[("responder", "e-lon")], daemons[("shaper", None)]]
        with DaemonWatch(lab.record, lab.expected_exits) as watch:
            lab.stop_responder("nyc")  # on purpose
            for v in victims:
                t0 = time.monotonic()
                os.kill(v.pid, signal.SIGKILL)
                wait_for(lambda: any(f["pid"] == v.pid for f in watch.faults), timeout=5,
                         what=f"the death of {v.name}")
                assert time.monotonic() - t0 < 1.0, v.name
        assert sorted((f["name"], f["node"]) for f in watch.faults) == sorted(
            (v.name, v.node) for v in victims)
    finally:
        lab.stop()
    assert leftovers(lab.record) == []
