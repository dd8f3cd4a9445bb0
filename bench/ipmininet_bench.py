#!/usr/bin/env python3
"""IPMininet on the bring-up benchmark's hierarchy, for an A/B with anycastlab.

The graph is ``shapes.hierarchy(n, seed)``, the one anycastlab is timed on
(``shapes.topology_yaml``): one FRR router per AS, each AS its own ASN
(64600 + index, as in the anycastlab file), an eBGP session on every
relationship link with IPMininet's own policy helper
(``ebgp_session(topo, customer, provider, link_type=CLIENT_PROVIDER)``,
``link_type=SHARE`` for peers), and one host per AS behind its router.
Lean profile: ``RouterConfig`` with BGP only (FRR zebra + bgpd; no OSPF,
OSPF6, RADVD), IPv4 only. Routers are linked point to point and hosts
directly to their router: no switch, no controller, no NAT.

A run is timed from the IPNet's creation (build: namespaces, veth pairs,
addresses; then ``net.start()``: config checks, zebra + bgpd on every router)
until every host pings every other host in one round, each round all pings at
once (``-c1 -W1``); ``net.stop()`` is timed on its own. Needs root, FRR and
IPMininet 1.0 (the message on a missing piece says how to install them):

    sudo bench/.ipmn/bin/python bench/ipmininet_bench.py --ases 30 --runs 3 --json OUT.json

``--topo-only`` builds the IPTopo graph and prints it (no root, no
namespaces), to check the mapping.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from subprocess import PIPE
from typing import Any, NoReturn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from shapes import hierarchy  # noqa: E402

ASN_BASE = 64600                      # as shapes.topology_yaml numbers the ASes
FRR_DIRS = ("/usr/lib/frr", "/usr/sbin", "/usr/local/sbin", "/usr/local/bin")
NO_IPV6 = {"net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1}

INSTALL = """\
Install them like this (Debian 12, as root, from the repository root):

  apt-get install -y --no-install-recommends frr mininet openssh-client fping
      # FRR 8.4: zebra and bgpd land in /usr/lib/frr (this script adds it to PATH);
      # fping is optional (one prober per host instead of one ping per pair);
      # openssh-client: importing ipmininet runs ssh-keygen.
      # If systemd started frr.service in the root namespace, the bench does not
      # need it:  systemctl disable --now frr
  /usr/bin/python3 -m venv --system-site-packages bench/.ipmn
      # Debian's python, so that the venv sees Debian's mininet (and PyYAML)
  bench/.ipmn/bin/pip install 'mako>=1.1,<1.2'
      # IPMininet 1.0's only Python dependency besides mininet and setuptools
  bench/.ipmn/bin/pip download --no-deps --no-binary :all: --no-build-isolation \\
        ipmininet==1.0 -d bench/.ipmn/sdist   # runs only setup.py egg_info
  tar -xzf bench/.ipmn/sdist/ipmininet-1.0.tar.gz -C bench/.ipmn/sdist
  cp -r bench/.ipmn/sdist/ipmininet-1.0/ipmininet \\
        "$(bench/.ipmn/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"

Do not 'pip install ipmininet': PyPI has only the 1.0 sdist, whose setup.py
requires 'mininet @ git+https://github.com/...' and overrides the install
command to run mininet/util/install.sh -a (apt-get, Open vSwitch, ... system
wide) unless /opt/mininet_dependencies exists; pip's wheel build runs that
command even with --no-deps. Copying the pure-Python package avoids it.

Then run:  bench/.ipmn/bin/python bench/ipmininet_bench.py --ases 30 --runs 3 --json OUT.json
"""


def fail(msg: str, code: int = 2) -> NoReturn:
    print(f"ipmininet_bench: {msg}", file=sys.stderr)
    raise SystemExit(code)


# ---------------------------------------------------------------- prerequisites

def add_frr_to_path() -> None:
    """Debian installs the FRR daemons in /usr/lib/frr, outside PATH; IPMininet
    looks them up in PATH (require_cmd, ipmininet/utils.py) and starts them by
    bare name, so the nodes (which inherit this environment) need it too."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    for d in FRR_DIRS:
        if d not in dirs and os.path.isdir(d):
            dirs.append(d)
    os.environ["PATH"] = os.pathsep.join(x for x in dirs if x)


def check_imports() -> None:
    missing = []
    for mod in ("mininet", "mako", "ipmininet", "ipmininet.iptopo", "ipmininet.ipnet"):
        try:
            __import__(mod)
        except ImportError as e:  # also a broken mininet import inside ipmininet
            missing.append(f"{mod} ({e})")
        except SystemExit:        # ipmininet/__init__.py exits if mininet is missing
            missing.append(f"{mod} (it could not import mininet)")
        except OSError as e:      # ipmininet's sshd.py runs ssh-keygen on import
            missing.append(f"{mod} ({e}; ssh-keygen is in openssh-client)")
    if missing:
        fail(f"cannot import {', '.join(missing)} with {sys.executable}.\n\n{INSTALL}")


def check_tools(pinger: str) -> None:
    need = ["zebra", "bgpd", "mnexec", "ip", "ifconfig", "xargs", "sh"]
    need += ["fping"] if pinger == "fping" else ["ping"]
    missing = [t for t in need if not shutil.which(t)]
    if missing:
        fail(f"not found in PATH ({os.environ['PATH']}): {', '.join(missing)}.\n"
             "zebra/bgpd: package frr; mnexec: mininet; ifconfig (Mininet checks it): "
             "net-tools; ping: iputils-ping; fping: fping.\n\n" + INSTALL)


def forget_ssh_keypair() -> None:
    """Importing ipmininet.router.config generates an RSA key pair in /tmp for
    its SSHd daemon (ipmininet/router/config/sshd.py:10-18), unused here and
    never removed by IPMininet: remove that pair (its exact paths)."""
    sshd = sys.modules.get("ipmininet.router.config.sshd")
    for f in (getattr(sshd, "KEYFILE", None), getattr(sshd, "PUBKEY", None)):
        if f and os.path.isfile(f):
            os.unlink(f)


def frr_version() -> str | None:
    try:
        out = subprocess.run(["zebra", "--version"], check=False, capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0].strip() if out.strip() else None


def ipmininet_version() -> str:
    import ipmininet
    try:
        from importlib.metadata import version
        return f"{version('ipmininet')} ({Path(ipmininet.__file__).parent})"
    except Exception:  # copied package without dist-info: say where it is
        return f"unknown version ({Path(ipmininet.__file__).parent})"


def neutralise_global_cleanup() -> None:
    """IPMininet's Router.start() calls mininet.clean.cleanup() when a daemon's
    config check fails (ipmininet/router/__router.py:135-138, 151-154). That
    function kills processes by name system-wide (killall ... ping mnexec,
    pkill -f mininet:), deletes every '*-ethN' link in the root namespace and
    files in /tmp. The bench refuses it: the run aborts with an exception and
    the finally clause tears down only this network with net.stop()."""
    import mininet.clean

    def refuse(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("IPMininet asked for mininet.clean.cleanup() (a daemon's config check "
                           "failed, see the error above); refused, tearing down with net.stop()")

    mininet.clean.cleanup = refuse            # looked up at call time by __router.py
    mininet.clean.Cleanup.cleanup = staticmethod(refuse)


# ---------------------------------------------------------------- the topology

def relationships(shape: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(customer, provider) pairs and peer pairs, each once."""
    cp, seen = [], set()
    for a in shape["ases"]:
        for p in a["providers"]:
            if frozenset((a["id"], p)) not in seen:
                seen.add(frozenset((a["id"], p)))
                cp.append((a["id"], p))
    peers = []
    for x, y in shape["peers"]:
        if frozenset((x, y)) not in seen:
            seen.add(frozenset((x, y)))
            peers.append((x, y))
    return cp, peers


def stub_ids(shape: dict[str, Any]) -> set[str]:
    providers = {p for a in shape["ases"] for p in a["providers"]}
    return {a["id"] for a in shape["ases"] if a["id"] not in providers}


def topo_class() -> type:
    """The IPTopo subclass (defined late: ipmininet may be missing)."""
    from ipmininet.host.config import HostConfig
    from ipmininet.iptopo import IPTopo
    from ipmininet.router.config import BGP, CLIENT_PROVIDER, SHARE, RouterConfig, ebgp_session
    from ipmininet.router.config.bgp import AF_INET

    class HierarchyTopo(IPTopo):
        """One router (own ASN) and one host per AS; eBGP on every relationship."""

        def __init__(self, shape: dict[str, Any], workdir: str, kernel_ipv6: bool = False,
                     *args: Any, **kwargs: Any) -> None:
            self.shape, self.workdir, self.kernel_ipv6 = shape, workdir, kernel_ipv6
            self.bgp_routers: dict[str, Any] = {}
            super().__init__(*args, **kwargs)

        def build(self, *args: Any, **kwargs: Any) -> None:
            sysctl = {} if self.kernel_ipv6 else dict(NO_IPV6)
            for i, a in enumerate(self.shape["ases"]):
                # RouterConfig, not BasicRouterConfig (which adds OSPF and OSPF6):
                # BGP alone, and BGP's DEPENDS brings zebra (bgp.py BGP.DEPENDS).
                r = self.addRouter(a["id"], config=(RouterConfig, {"sysctl": dict(sysctl)}),
                                   use_v4=True, use_v6=False, cwd=self.workdir)
                r.addDaemon(BGP, address_families=(AF_INET(redistribute=("connected",)),))
                self.addAS(ASN_BASE + i, (r,))
                self.bgp_routers[a["id"]] = r
                h = self.addHost(f"h{a['id']}", config=(HostConfig, {"sysctl": dict(sysctl)}),
                                 use_v4=True, use_v6=False, cwd=self.workdir)
                self.addLink(r, h)                       # host straight on its router
            cp, peers = relationships(self.shape)
            for cust, prov in cp:                        # first argument: the customer
                self.addLink(self.bgp_routers[cust], self.bgp_routers[prov])
                ebgp_session(self, self.bgp_routers[cust], self.bgp_routers[prov],
                             link_type=CLIENT_PROVIDER)
            for x, y in peers:
                self.addLink(self.bgp_routers[x], self.bgp_routers[y])
                ebgp_session(self, self.bgp_routers[x], self.bgp_routers[y], link_type=SHARE)
            super().build(*args, **kwargs)

    return HierarchyTopo


def describe_topo(topo: Any, shape: dict[str, Any]) -> dict[str, Any]:
    cp, peers = relationships(shape)
    routers = [str(r) for r in topo.routers()]
    asns = {r: topo.nodeInfo(r).get("asn") for r in routers}
    daemons = {}
    for r in routers:
        cfg = topo.nodeInfo(r).get("config")
        cls, params = cfg if isinstance(cfg, tuple) else (cfg, {})
        daemons[r] = (getattr(cls, "__name__", str(cls)),
                      [getattr(d[0] if isinstance(d, tuple) else d, "NAME", str(d))
                       for d in params.get("daemons", [])])
    return {"routers": len(routers), "hosts": len(topo.hosts()), "links": len(topo.links()),
            "switches": len(topo.switches()), "customer_provider": len(cp), "peers": len(peers),
            "distinct_asns": len(set(asns.values())), "asns": asns, "config": daemons,
            "bgp_peers": {r: [str(p) for p in topo.nodeInfo(r).get("bgp_peers", [])] for r in routers},
            "route_maps": {r: sorted({rm.name for rm in topo.nodeInfo(r).get("bgp_route_maps", [])})
                           for r in routers}}


# ---------------------------------------------------------------- connectivity

PING_RE = re.compile(r"--- (\S+) ping statistics ---\s*\n\s*(\d+) packets transmitted, "
                     r"(\d+) (?:packets )?received")
FPING_RE = re.compile(r"^(\S+)\s*: xmt/rcv/%loss = (\d+)/(\d+)/", re.MULTILINE)


def probe_cmd(pinger: str, ips: list[str], par: int) -> list[str]:
    if pinger == "fping":
        return ["fping", "-q", "-c1", "-t1000", "-i1", *ips]
    # one ping per target, up to `par` at once; each prints its summary block
    # in one write at exit (stdout is a pipe), parsed by PING_RE
    return ["sh", "-c", "printf '%s\\n' " + " ".join(ips)
            + f" | xargs -P {par} -n1 ping -n -q -c1 -W1"]


def ping_round(sources: list[Any], targets: dict[str, list[str]], pinger: str,
               par: int) -> list[tuple[str, str]]:
    """Every source pings all its targets once, all sources at once (one
    process per source, in its namespace via Node.popen). Returns failures."""
    procs = [(h, targets[h.name], h.popen(probe_cmd(pinger, targets[h.name], par),
                                          stdout=PIPE, stderr=PIPE))
             for h in sources if targets[h.name]]
    limit = 5 + 2 * (max((len(t) for t in targets.values()), default=1) // max(par, 1) + 1)
    failed = []
    for h, ips, p in procs:
        try:
            out, err = p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            p.kill()                                 # our own child, by its handle
            out, err = p.communicate()
        text = (err if pinger == "fping" else out).decode(errors="replace")
        rx = FPING_RE if pinger == "fping" else PING_RE
        ok = {m.group(1) for m in rx.finditer(text) if int(m.group(3)) > 0}
        failed += [(h.name, ip) for ip in ips if ip not in ok]
    return failed


def wait_connectivity(net: Any, shape: dict[str, Any], args: argparse.Namespace,
                      deadline: float) -> dict[str, Any]:
    by_as = {f"h{a['id']}": a["id"] for a in shape["ases"]}
    hosts = list(net.hosts)
    ip_of = {h.name: h.defaultIntf().ip for h in hosts}
    if None in ip_of.values():
        raise RuntimeError(f"host without IPv4 address: {[n for n, ip in ip_of.items() if ip is None]}")
    if args.pairs == "stubs":
        stubs = stub_ids(shape)
        hosts = [h for h in hosts if by_as[h.name] in stubs]
    targets = {h.name: [ip_of[d.name] for d in hosts if d is not h] for h in hosts}
    pairs = sum(len(t) for t in targets.values())
    rounds, failed, last = 0, [], 0.0
    while True:
        r0 = time.monotonic()
        failed = ping_round(hosts, targets, args.pinger, args.parallel)
        rounds += 1
        last = time.monotonic() - r0
        if not failed:
            return {"ok": True, "rounds": rounds, "pairs": pairs, "last_round_s": round(last, 3)}
        if time.monotonic() >= deadline:
            return {"ok": False, "rounds": rounds, "pairs": pairs, "last_round_s": round(last, 3),
                    "failed_pairs": len(failed), "failed_sample": failed[:10]}
        # failures can come back fast (ICMP unreachable): don't spin the CPU
        # the routers need while converging
        time.sleep(max(0.0, args.min_round - last))


def pingall_connectivity(net: Any, deadline: float) -> dict[str, Any]:
    """IPMininet's own check, for comparison: IPNet.ping4All() pings every
    pair one after the other from the node's shell (ipnet.py:419-421)."""
    rounds = 0
    while True:
        r0 = time.monotonic()
        loss = net.ping4All(timeout="1")
        rounds += 1
        last = time.monotonic() - r0
        n = len(net.hosts)
        if loss == 0:
            return {"ok": True, "rounds": rounds, "pairs": n * (n - 1), "last_round_s": round(last, 3)}
        if time.monotonic() >= deadline:
            return {"ok": False, "rounds": rounds, "pairs": n * (n - 1), "last_round_s": round(last, 3),
                    "loss_pct": loss}


# ---------------------------------------------------------------- FRR memory

def pss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            text = f.read()
    except OSError:
        try:  # kernels before 4.14: sum the per-mapping lines
            with open(f"/proc/{pid}/smaps") as f:
                return sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except OSError:
            return None
    m = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) if m else None


def program(pid: int) -> str | None:
    """The executable's name (not comm: FRR may rename threads)."""
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        pass
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        return os.path.basename(argv0) or None
    except OSError:
        return None


def frr_processes(net: Any) -> list[dict[str, Any]]:
    """zebra and bgpd of every router of this network, from IPMininet's own
    handles: Router._processes (a ProcessHelper) keeps the Popen of each daemon
    it started, in start order (__router.py:40-48, 159-161), and that order is
    nconfig.daemons (sorted by PRIO: zebra 0, bgpd 10). mnexec -da execs the
    daemon in the Popen's own process (it forks only as a process-group
    leader), so Popen.pid is the daemon. The daemon's pid file (-i, zebra.py
    startup_line) is the fallback. No process-name search."""
    rows = []
    for r in net.routers:
        helper = r._processes
        handles = [helper._processes[k] for k in sorted(helper._processes)]
        for d, p in zip(r.nconfig.daemons, handles):
            pid, how = p.pid, "popen"
            if p.poll() is not None or program(pid) != d.NAME:
                pid, how = None, "missing"
                try:
                    cand = int(Path(d._file("pid")).read_text().split()[0])
                    if program(cand) == d.NAME:
                        pid, how = cand, "pidfile"
                except (OSError, ValueError, IndexError):
                    pass
            rows.append({"router": r.name, "daemon": d.NAME, "pid": pid, "via": how,
                         "pss_kib": pss_kib(pid) if pid else None})
    return rows


# ---------------------------------------------------------------- one run

def one_run(k: int, shape: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from ipmininet.ipnet import IPNet

    workdir = tempfile.mkdtemp(prefix=f"ipmn-bench-r{k}-")   # configs, sockets, pid files, logs
    topo = topo_class()(shape, workdir, kernel_ipv6=args.kernel_ipv6)
    res: dict[str, Any] = {"run": k, "workdir": workdir}
    net = None
    t0 = time.monotonic()
    try:
        # build=False so that a failure half-way through the build still leaves
        # us a handle to stop what was created
        net = IPNet(topo=topo, build=False, use_v4=True, use_v6=False, allocate_IPs=True)
        net.build()
        if net.switches or net.controllers:
            raise RuntimeError(f"unexpected switches {net.switches} / controllers {net.controllers}")
        res["build_s"] = round(time.monotonic() - t0, 3)
        t1 = time.monotonic()
        net.start()
        res["start_s"] = round(time.monotonic() - t1, 3)
        t2 = time.monotonic()
        deadline = t0 + args.timeout
        conn = (pingall_connectivity(net, deadline) if args.pinger == "pingall"
                else wait_connectivity(net, shape, args, deadline))
        res["connect_s"] = round(time.monotonic() - t2, 3)
        res.update(conn)
        res["up_s"] = round(time.monotonic() - t0, 3) if conn["ok"] else None
        procs = frr_processes(net)
        res["frr_processes"] = len([p for p in procs if p["pid"]])
        res["frr_expected"] = 2 * len(net.routers)
        res["frr_missing"] = [f"{p['router']}/{p['daemon']}" for p in procs if not p["pid"]]
        pss = [p["pss_kib"] for p in procs if p["pss_kib"] is not None]
        res["frr_pss_mib"] = round(sum(pss) / 1024, 1) if pss else None
        res["frr_pss_mib_by_daemon"] = {
            name: round(sum(p["pss_kib"] or 0 for p in procs if p["daemon"] == name) / 1024, 1)
            for name in sorted({p["daemon"] for p in procs})}
        res["frr_pid_source"] = sorted({p["via"] for p in procs})
    except BaseException as e:
        res["ok"] = False
        res["error"] = f"{type(e).__name__}: {e}"
        if isinstance(e, KeyboardInterrupt):
            raise
    finally:
        if net is not None:
            # hold Ctrl-C / SIGTERM until the teardown is done (as anycastlab does)
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            t3 = time.monotonic()
            try:
                net.stop()
            finally:
                res["teardown_s"] = round(time.monotonic() - t3, 3)
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if res.get("ok") and not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return res


def median(xs: list[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 3) if xs else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ases", type=int, default=30, help="ASes = routers = hosts (default 30)")
    ap.add_argument("--seed", type=int, default=1, help="shapes.hierarchy seed (default 1)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds from the IPNet's creation to give up on a run (default 120)")
    ap.add_argument("--pinger", choices=("auto", "fping", "ping", "pingall"), default="auto",
                    help="auto: fping if installed, else ping (one per pair, --parallel at once "
                         "per host); pingall: IPMininet's sequential net.ping4All()")
    ap.add_argument("--parallel", type=int, default=64, help="pings at once per host (ping mode)")
    ap.add_argument("--pairs", choices=("all", "stubs"), default="all",
                    help="all: every host to every other host; stubs: hosts of ASes without customers")
    ap.add_argument("--min-round", type=float, default=0.25,
                    help="minimum seconds between the starts of two failed rounds")
    ap.add_argument("--kernel-ipv6", action="store_true",
                    help="leave IPv6 on in the nodes' kernels (IPMininet's default; by default the "
                         "bench disables it through the nodes' sysctl config, as anycastlab does)")
    ap.add_argument("--keep-workdir", action="store_true",
                    help="keep each run's config/log directory (kept anyway when a run fails)")
    ap.add_argument("--topo-only", action="store_true",
                    help="build the IPTopo graph and print it; no root, no namespaces")
    ap.add_argument("--verbose", action="store_true", help="Mininet/IPMininet log level info")
    args = ap.parse_args()
    if args.ases < 3 or args.runs < 1:
        fail("--ases must be >= 3 and --runs >= 1")

    add_frr_to_path()
    try:
        check_imports()
        return bench(args)
    finally:
        forget_ssh_keypair()


def bench(args: argparse.Namespace) -> int:
    from mininet.log import setLogLevel
    setLogLevel("info" if args.verbose else "error")
    shape = hierarchy(args.ases, args.seed)

    if args.topo_only:
        with tempfile.TemporaryDirectory(prefix="ipmn-topo-") as d:
            info = describe_topo(topo_class()(shape, d), shape)
        print(json.dumps(info, indent=1))
        return 0

    if os.geteuid() != 0:
        fail("needs root (network namespaces): sudo bench/.ipmn/bin/python bench/ipmininet_bench.py ...")
    if args.pinger == "auto":
        args.pinger = "fping" if shutil.which("fping") else "ping"
    check_tools(args.pinger)
    neutralise_global_cleanup()
    from mininet.net import Mininet
    # Mininet.init() would run fixLimits(): raise the host's sysctls (fs.file-max,
    # net.core.*mem_max, neigh gc_thresh, ...) in the root namespace. anycastlab
    # skips it the same way (lab/nodes.py); this process's own fd limit is raised
    # instead (node ptys and daemon pipes).
    Mininet.inited = True
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    def on_term(*_a: Any) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    cp, peers = relationships(shape)
    frr = frr_version()
    print(f"ipmininet bench: {args.ases} ASes (seed {args.seed}): {args.ases} routers, {args.ases} hosts, "
          f"{len(cp)} customer-provider + {len(peers)} peer eBGP sessions; {frr or 'FRR ?'}; "
          f"IPMininet {ipmininet_version()}; pinger {args.pinger}; "
          f"kernel IPv6 {'on' if args.kernel_ipv6 else 'off'}", flush=True)

    runs = []
    for k in range(1, args.runs + 1):
        r = one_run(k, shape, args)
        runs.append(r)
        if r.get("ok"):
            print(f"  run {k}/{args.runs}: up, all {r['pairs']} pings OK in {r['up_s']} s "
                  f"(build {r['build_s']}, start {r['start_s']}, pings {r['connect_s']} s, "
                  f"{r['rounds']} rounds, last {r['last_round_s']} s); teardown {r.get('teardown_s')} s; "
                  f"FRR PSS {r['frr_pss_mib']} MiB over {r['frr_processes']}/{r['frr_expected']} "
                  f"zebra+bgpd", flush=True)
            if r["frr_missing"]:
                print(f"    FRR daemons not found: {r['frr_missing']}", flush=True)
        else:
            why = r.get("error") or (f"{r.get('failed_pairs', '?')} of {r.get('pairs')} pairs still "
                                     f"failing after {args.timeout} s, e.g. {r.get('failed_sample')}")
            print(f"  run {k}/{args.runs}: FAILED: {why}; teardown {r.get('teardown_s')} s; "
                  f"logs in {r['workdir']}", flush=True)

    result = {
        "tool": "ipmininet", "ases": args.ases, "seed": args.seed,
        "runs_s": [r.get("up_s") for r in runs],
        "median_s": median([r.get("up_s") for r in runs]),
        "teardown_s": [r.get("teardown_s") for r in runs],
        "frr_pss_mib": median([r.get("frr_pss_mib") for r in runs]),
        "frr_pss_mib_runs": [r.get("frr_pss_mib") for r in runs],
        "timed_from": "IPNet creation (build: namespaces, veths, addresses) through net.start() "
                      "until one round in which every pair pings",
        "pinger": args.pinger, "pairs": args.pairs, "kernel_ipv6": args.kernel_ipv6,
        "timeout_s": args.timeout,
        "frr": frr, "frr_zebra": shutil.which("zebra"), "ipmininet": ipmininet_version(),
        "graph": {"routers": args.ases, "hosts": args.ases, "customer_provider": len(cp),
                  "peers": len(peers)},
        "machine": {"cores": os.cpu_count(), "kernel": platform.release(),
                    "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "runs": runs,
    }
    print(f"median {result['median_s']} s up (of {sum(1 for r in runs if r.get('ok'))}/{len(runs)} runs), "
          f"teardown {result['teardown_s']} s, FRR PSS {result['frr_pss_mib']} MiB", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(r.get("ok") for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
