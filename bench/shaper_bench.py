#!/usr/bin/env python3
"""Benchmark the link engines: delay fidelity (ping) and throughput (UDP blast).

Both engines (the native one, `.venv/bin/anycastlab-linkd`, and the Python one,
`anycastlab.agents.shaper`) are measured in the same run, one after the other, so
their ratio compares like with like (`--engine native|python|both`).

Needs root.  Builds two namespaces acl-bench-a / acl-bench-b joined by a veth
pair (10.99.0.1/30 - 10.99.0.2/30), shapes both egress sides with one shaper
process, and always tears everything down (also on Ctrl-C / SIGTERM).

    .venv/bin/python bench/shaper_bench.py [--quick]

Writes bench/results/shaper.json.  `_send` / `_recv` are internal subcommands
run inside the namespaces.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from anycastlab.lab.links import ShaperClient, iptables_rule_args, native_engine  # noqa: E402

NS_A, NS_B = "acl-bench-a", "acl-bench-b"
IP_A, IP_B = "10.99.0.1", "10.99.0.2"
IF_A, IF_B = "acl-veth-a", "acl-veth-b"  # created directly inside the namespaces
QUEUE = 1
PORT = 9999
RESULTS = REPO / "bench" / "results" / "shaper.json"
NATIVE: dict[str, str] = {}  # bench helpers built at start: blast (sender), nfq_accept (ceiling)


def build_native(tmp: str) -> None:
    """Compile the bench's native helpers (bench/native/*.c) into ``tmp``."""
    for name, libs in (("blast", []), ("nfq_accept", ["-lnetfilter_queue", "-lnfnetlink"])):
        out = os.path.join(tmp, name)
        res = subprocess.run(["gcc", "-O2", "-o", out, str(REPO / "bench" / "native" / f"{name}.c"), *libs],
                             capture_output=True, text=True)
        if res.returncode == 0:
            NATIVE[name] = out
        else:
            print(f"note: {name}.c did not build ({res.stderr.strip()[:200]})", file=sys.stderr)


def run(argv: list[str], timeout: float = 30) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True,
                          timeout=timeout).stdout


def in_ns(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


class Lab:
    """Two namespaces + veth + NFQUEUE rules + shaper; __exit__ always tears down."""

    def __init__(self, delay_ms: float, engine: str = "python") -> None:
        self.delay_ms, self.engine = delay_ms, engine
        self.tmp = tempfile.mkdtemp(prefix="acl-bench-")
        self.control = os.path.join(self.tmp, "shaper.sock")
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.shaper: subprocess.Popen | None = None
        self.client = ShaperClient(self.control)

    def __enter__(self) -> Lab:
        try:
            self._setup()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _setup(self) -> None:
        existing = run(["ip", "netns", "list"])
        for ns in (NS_A, NS_B):
            if re.search(rf"^{ns}\b", existing, re.M):
                raise SystemExit(f"{ns} already exists (stale run?): `ip netns del {ns}` first")
        for ns in (NS_A, NS_B):
            run(["ip", "netns", "add", ns])
            self.namespaces.append(ns)
        run(["ip", "link", "add", IF_A, "netns", NS_A, "type", "veth",
             "peer", "name", IF_B, "netns", NS_B])
        holders = {}
        for ns, ifname, addr in ((NS_A, IF_A, IP_A), (NS_B, IF_B, IP_B)):
            run(["ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", ifname])
            run(["ip", "-n", ns, "link", "set", ifname, "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(in_ns(ns, *iptables_rule_args(ifname, QUEUE)))
            # a process living in the namespace: the shaper finds the netns by pid
            holder = subprocess.Popen(in_ns(ns, "sleep", "1000000"))
            self.procs.append(holder)
            holders[ns] = holder.pid
        for ns, pid in holders.items():  # wait until `ip netns exec` has exec'd sleep
            want = os.stat(f"/run/netns/{ns}").st_ino
            _wait(lambda: os.stat(f"/proc/{pid}/ns/net").st_ino == want, 5, f"holder in {ns}")
        spec = {"queues": [
            {"key": "a", "netns_pid": holders[NS_A], "queue": QUEUE, "delay_ms": self.delay_ms},
            {"key": "b", "netns_pid": holders[NS_B], "queue": QUEUE, "delay_ms": self.delay_ms}]}
        spec_path, ready = os.path.join(self.tmp, "spec.json"), os.path.join(self.tmp, "ready")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        args = ["--spec", spec_path, "--control", self.control, "--ready", ready]
        if self.engine == "ceiling":  # accept-everything: what NFQUEUE itself can carry here
            cmd = [NATIVE["nfq_accept"], self.control, ready, f"{holders[NS_A]}:{QUEUE}",
                   f"{holders[NS_B]}:{QUEUE}"]
        elif self.engine == "native":
            native = native_engine()
            if native is None:
                raise SystemExit("the native engine is not built: run 'sudo make setup'")
            cmd = [native, *args]
        else:
            cmd = [sys.executable, "-m", "anycastlab.agents.shaper", *args]
        self.shaper = subprocess.Popen(cmd, env=env, cwd=REPO)
        _wait(lambda: os.path.exists(ready) or self.shaper.poll() is not None, 10, "shaper ready")
        if self.shaper.poll() is not None:
            raise RuntimeError(f"shaper exited with {self.shaper.returncode}")

    def __exit__(self, *exc: Any) -> None:
        if self.shaper is not None and self.shaper.poll() is None:
            self.shaper.terminate()
            try:
                self.shaper.wait(10)
            except subprocess.TimeoutExpired:
                self.shaper.kill()
                self.shaper.wait()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], check=False)
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def set_delay(self, ms: float) -> None:
        for key in ("a", "b"):
            self.client.set_delay(key, ms)


def _wait(cond: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.01)


def ping(count: int, interval: float, timeout: float = 60) -> tuple[list[float], list[float]]:
    """Per-packet RTTs (ping prints only 3 significant digits) and summary min/avg/max (us)."""
    out = subprocess.run(in_ns(NS_A, "ping", "-n", "-c", str(count), "-i", str(interval), IP_B),
                         capture_output=True, text=True, timeout=timeout).stdout
    summ = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/", out)
    return ([float(m) for m in re.findall(r"time=([\d.]+) ms", out)],
            [float(x) for x in summ.groups()] if summ else [])


def fidelity(lab: Lab, delays: list[float], count: int) -> list[dict]:
    rows = []
    for d in delays:
        lab.set_delay(d)
        rtts, (lo, avg, hi) = ping(count, 0.05)
        want = 2 * d
        rows.append({"delay_ms_each_way": d, "expected_rtt_ms": want, "pings": len(rtts),
                     "median_rtt_ms": statistics.median(rtts), "mean_rtt_ms": avg,
                     "median_abs_err_ms": round(statistics.median(abs(r - want) for r in rtts), 3),
                     # the largest |rtt - want| is at min or max, which ping prints to 1 us
                     "max_abs_err_ms": round(max(abs(lo - want), abs(hi - want)), 3)})
    return rows


def _snmp_udp(ns: str) -> dict[str, int]:
    lines = [ln.split() for ln in run(in_ns(ns, "cat", "/proc/net/snmp")).splitlines()
             if ln.startswith("Udp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def _cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def blast(lab: Lab, rate: int, seconds: float, senders: int) -> dict:
    """One step: senders in ns a -> receiver in ns b, ping alongside for latency under load."""
    me = [sys.executable, str(Path(__file__).resolve())]
    st0, udp0, cpu0 = lab.client.stats(kernel=True), _snmp_udp(NS_B), _cpu_s(lab.shaper.pid)
    recv = subprocess.Popen(in_ns(NS_B, *me, "_recv"), stdout=subprocess.PIPE, text=True)
    procs = [recv]
    try:
        assert recv.stdout is not None
        if recv.stdout.readline().strip() != "ready":
            raise RuntimeError("receiver failed to start")
        n_ping = max(5, int(seconds / 0.05) - 4)
        ping = subprocess.Popen(in_ns(NS_A, "ping", "-n", "-c", str(n_ping), "-i", "0.05", IP_B),
                                stdout=subprocess.PIPE, text=True)
        procs.append(ping)
        t0 = time.monotonic()
        sender = ([NATIVE["blast"], IP_B, str(PORT)] if "blast" in NATIVE else [*me, "_send"])
        snd = [subprocess.Popen(in_ns(NS_A, *sender, str(rate / senders), str(seconds), str(i)),
                                stdout=subprocess.PIPE, text=True)
               for i in range(senders)]
        procs += snd
        sent = [json.loads(p.communicate(timeout=seconds * 4 + 10)[0]) for p in snd]
        wall = time.monotonic() - t0
        ping_out = ping.communicate(timeout=30)[0]
        time.sleep(lab.delay_ms / 1000 + 0.5)  # let held packets drain
        recv.send_signal(signal.SIGTERM)
        got = json.loads(recv.communicate(timeout=10)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    st1, udp1, cpu1 = lab.client.stats(kernel=True), _snmp_udp(NS_B), _cpu_s(lab.shaper.pid)
    n_sent = sum(s["sent"] for s in sent)
    rtts = [float(m) for m in re.findall(r"time=([\d.]+) ms", ping_out)]
    k0, k1 = st0["a"].get("kernel") or {}, st1["a"].get("kernel") or {}
    return {
        "target_pps": rate, "senders": senders, "sent": n_sent,
        "sent_pps": round(n_sent / max(s["elapsed"] for s in sent)),
        "send_errors": sum(s["errors"] for s in sent), "received": got["received"],
        "loss": 1 - got["received"] / n_sent if n_sent else 1.0, "reordered": got["reordered"],
        "recv_buf_errors": udp1.get("RcvbufErrors", 0) - udp0.get("RcvbufErrors", 0),
        # queue_dropped: kernel queue full (max_len); user_dropped: netlink rcvbuf full
        "kernel_queue_dropped": k1.get("queue_dropped", 0) - k0.get("queue_dropped", 0),
        "kernel_user_dropped": k1.get("user_dropped", 0) - k0.get("user_dropped", 0),
        "nl_overruns": st1["a"]["overruns"] - st0["a"]["overruns"],
        "shaper_cpu": round((cpu1 - cpu0) / wall, 2),
        "cpu_us_per_packet": round((cpu1 - cpu0) / max(1, st1["a"]["passed"] - st0["a"]["passed"]) * 1e6, 2),
        "ping_median_rtt_ms": statistics.median(rtts) if rtts else None,
        "ping_max_rtt_ms": max(rtts) if rtts else None,
        "ping_lost": n_ping - len(rtts),
    }


def throughput(lab: Lab, rates: list[int], seconds: float, senders: int) -> list[dict]:
    rows, fails = [], 0
    for rate in rates:
        r = blast(lab, rate, seconds, senders)
        rows.append(r)
        _print_blast(r)
        fails = fails + 1 if r["loss"] >= 0.01 else 0
        if fails >= 2:
            break
    return rows


def _print_blast(r: dict) -> None:
    print(f"{r['target_pps']:>8} {r['sent_pps']:>8} {r['received']:>9} {r['loss']*100:>7.2f}% "
          f"{r['kernel_queue_dropped']:>7} {r['kernel_user_dropped']:>7} {r['recv_buf_errors']:>7} {r['shaper_cpu']:>5} "
          f"{r['ping_median_rtt_ms'] or float('nan'):>8.2f} {r['ping_lost']:>4}", flush=True)


# ------------------------------------------------------------- in-namespace helpers
def _send(rate: float, seconds: float, sender_id: int) -> None:
    """Paced UDP sender: catches up in bursts, counts sendto errors."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # held packets stay charged to this socket's sndbuf while the shaper holds them
    s.setsockopt(socket.SOL_SOCKET, 32, 64 << 20)  # SO_SNDBUFFORCE (root)
    s.connect((IP_B, PORT))
    total, i, errors = int(rate * seconds), 0, 0
    pack, pad, send, mono = struct.Struct("!HI").pack, b"\0" * 26, s.send, time.monotonic
    start = mono()
    while i < total:
        due = min(total, int((mono() - start) * rate) + 1)
        if due <= i:
            time.sleep(0.0002)
            continue
        while i < due:
            try:
                send(pack(sender_id, i) + pad)
            except OSError:
                errors += 1
            i += 1
    print(json.dumps({"sent": total, "errors": errors, "elapsed": mono() - start}), flush=True)


def _recv() -> None:
    """Count datagrams until SIGTERM; per-sender sequence numbers detect reordering."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE (root)
    s.bind((IP_B, PORT))
    s.setblocking(False)
    print("ready", flush=True)
    n = reordered = 0
    last: dict[int, int] = {}
    buf = bytearray(2048)
    unpack = struct.Struct("!HI").unpack_from
    while not stop:
        select.select([s], [], [], 0.1)
        while True:
            try:
                s.recv_into(buf)
            except BlockingIOError:
                break
            n += 1
            sid, seq = unpack(buf)
            if seq < last.get(sid, -1):
                reordered += 1
            last[sid] = seq
    print(json.dumps({"received": n, "reordered": reordered}), flush=True)


def measure(engine: str, rates: list[int], seconds: float, args: argparse.Namespace) -> dict:
    """Fidelity and throughput of one engine."""
    with Lab(delay_ms=10.0, engine=engine) as lab:
        print("fidelity (ping -c 20 -i 0.05, same delay both ways)")
        fid = [] if engine == "ceiling" else fidelity(lab, [10.0] if args.quick else [0.0, 1.0, 10.0, 50.0], 20)
        print(f"{'delay/way':>9} {'want RTT':>8} {'median':>8} {'mean':>8} {'med|err|':>8} "
              f"{'max|err|':>8}")
        for f in fid:
            print(f"{f['delay_ms_each_way']:>9.1f} {f['expected_rtt_ms']:>8.1f} "
                  f"{f['median_rtt_ms']:>8.2f} {f['mean_rtt_ms']:>8.3f} "
                  f"{f['median_abs_err_ms']:>8.3f} {f['max_abs_err_ms']:>8.3f}")
        lab.set_delay(20.0)
        print(f"\nthroughput a->b, 20 ms one-way, {seconds:g} s per step, "
              f"{args.senders} sender(s)")
        print(f"{'target':>8} {'sent/s':>8} {'received':>9} {'loss':>8} {'q-full':>7} "
              f"{'nl-full':>7} {'rcvbuf':>7} {'cpu':>5} {'ping ms':>8} {'plost':>4}   (ping RTT should be 40)")
        thr = throughput(lab, rates, seconds, args.senders)
    ok = [r for r in thr if r["loss"] < 0.01]
    # "clean": also no latency build-up (ping through the loaded queue stays within the
    # project's bound max(0.5 ms, 2 %) of 40 ms)
    clean = [r for r in ok if r["ping_median_rtt_ms"] is not None
             and abs(r["ping_median_rtt_ms"] - 40.0) <= max(0.5, 0.02 * 40.0)]
    head = next((f for f in fid if f["delay_ms_each_way"] == 10.0),
                {"median_abs_err_ms": None, "max_abs_err_ms": None})
    best = max(clean, key=lambda r: r["sent_pps"], default=None)
    return {"fidelity": fid, "throughput": thr, "summary": {
        "fidelity_10ms_median_abs_err_ms": head["median_abs_err_ms"],
        "fidelity_10ms_max_abs_err_ms": head["max_abs_err_ms"],
        "max_pps_below_1pct_loss": max((r["sent_pps"] for r in ok), default=0),
        "max_pps_below_1pct_loss_and_delay_ok": best["sent_pps"] if best else 0,
        "cpu_us_per_packet_at_max": best["cpu_us_per_packet"] if best else None}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer/shorter steps")
    ap.add_argument("--seconds", type=float, default=3.0, help="duration of each rate step")
    ap.add_argument("--senders", type=int, default=1)
    ap.add_argument("--rates", default="10000,25000,50000,75000,100000,110000,120000,"
                                       "130000,140000,150000,175000,200000,250000")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--engine", choices=["native", "python", "both"], default="both")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 1
    rates = [int(x) for x in args.rates.split(",")]
    seconds = min(1.0, args.seconds) if args.quick else args.seconds
    engines = ["native", "python"] if args.engine == "both" else [args.engine]
    tmp = tempfile.mkdtemp(prefix="acl-bench-bin-")
    build_native(tmp)
    if "nfq_accept" in NATIVE and args.engine == "both":
        engines.append("ceiling")
    # SIGTERM -> KeyboardInterrupt so the same finally blocks tear everything down
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results = {}
    for engine in engines:
        print(f"\n=== {engine} engine ===")
        results[engine] = measure(engine, rates, seconds, args)
    for name in NATIVE.values():
        os.unlink(name)
    os.rmdir(tmp)
    summary = {e: r["summary"] for e, r in results.items()}
    if "ceiling" in summary:
        ceiling = summary["ceiling"]["max_pps_below_1pct_loss"]
        summary["nfqueue_ceiling_pps"] = ceiling
        summary["native_share_of_ceiling"] = (round(summary["native"]["max_pps_below_1pct_loss_and_delay_ok"]
                                                    / ceiling, 2) if ceiling else None)
        summary["sender"] = "native (sendmmsg)" if "blast" in NATIVE else "python"
    if len(results) == 2:
        py = summary["python"]["max_pps_below_1pct_loss_and_delay_ok"]
        summary["native_vs_python_max_pps"] = (round(summary["native"]["max_pps_below_1pct_loss_and_delay_ok"] / py, 2)
                                               if py else None)
    # the old key, for the engine the lab uses
    head = summary.get("native") or summary[engines[0]]
    summary["max_pps_below_1pct_loss_and_delay_ok"] = head["max_pps_below_1pct_loss_and_delay_ok"]
    print("\nsummary:", json.dumps(summary))
    fid = {e: r["fidelity"] for e, r in results.items()}
    thr = {e: r["throughput"] for e, r in results.items()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "fidelity": fid, "throughput": thr,
                               "cpus": os.cpu_count(), "kernel": os.uname().release,
                               "python": sys.version.split()[0],
                               "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_send":
        _send(float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_recv":
        _recv()
    else:
        try:
            sys.exit(main())
        except KeyboardInterrupt:  # Lab.__exit__ has already torn everything down
            print("\ninterrupted; namespaces and processes removed", file=sys.stderr)
            sys.exit(130)
