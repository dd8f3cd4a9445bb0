#!/usr/bin/env python3
"""ExaBGP API process of a PoP speaker: announce, withdraw, health-check.

ExaBGP starts this process and reads BGP commands from its stdout
("announce route ...", "withdraw route ..."). It reads its plan from
``speaker.json`` in --dir and:

- announces every service prefix of the PoP once the local responder
  answers, each tagged with large communities (CDN ASN, 100, neighbour ASN)
  that tell the border router where to export it;
- health-checks the responder every ``interval`` seconds (UDP probe to the
  global address); after ``fall`` failures in a row it withdraws everything,
  after ``rise`` successes it announces again (like
  ``exabgp healthcheck --withdraw-on-down``);
- with ``dns_health`` in its plan (anycast DNS: a PowerDNS at this PoP),
  health-checks that server the same way (a DNS query to the DNS service
  address) and announces the DNS prefix only while it answers, so a PoP
  whose server fails stops drawing its catchment's queries; without it the
  DNS prefix is never announced (no server here);
- serves a control socket ``speaker.sock`` (JSON lines) for the Lab:
  {"op": "withdraw"|"announce", "what": "global"|"provider:<k>"|"unicast"|"all"}
  and {"op": "status"}.

Every change is logged with a wall-clock timestamp in ``speaker.log``.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time
import uuid
from pathlib import Path


class Speaker:
    def __init__(self, plan: dict, log_path: Path) -> None:
        self.plan = plan
        self.ann: dict = plan["announcements"]  # name -> {prefix, communities}
        self.wanted = {name: True for name in self.ann}  # admin state, set by the Lab
        self.announced: set[str] = set()
        self.healthy = False
        self.dns_ok = False          # the local DNS server answers (only with dns_health)
        self.streak: dict[str, tuple[int, int]] = {}   # attr -> (successes, failures) in a row
        self.log = open(log_path, "a", buffering=1)

    def note(self, text: str) -> None:
        self.log.write(f"{time.time():.3f} {text}\n")

    def emit(self, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def sync(self) -> None:
        """Make the announced set equal to what is wanted and healthy."""
        for name, a in self.ann.items():
            want = self.healthy and self.wanted[name] and (name != "dns" or self.dns_ok)
            if want and name not in self.announced:
                comms = " ".join(a["communities"])
                self.emit(f"announce route {a['prefix']} next-hop self large-community [ {comms} ]")
                self.announced.add(name)
                self.note(f"announce {name} {a['prefix']}")
            elif not want and name in self.announced:
                self.emit(f"withdraw route {a['prefix']} next-hop self")
                self.announced.discard(name)
                self.note(f"withdraw {name} {a['prefix']}")

    def select(self, what: str) -> list[str]:
        if what == "all":
            return list(self.ann)
        if what not in self.ann:
            raise KeyError(f"unknown announcement '{what}'; known: {', '.join(self.ann)}, all")
        return [what]

    def control(self, msg: dict) -> dict:
        op = msg.get("op")
        if op == "status":
            return {"ok": True, "healthy": self.healthy, "dns_ok": self.dns_ok, "wanted": self.wanted,
                    "announced": sorted(self.announced)}
        if op in ("announce", "withdraw"):
            try:
                names = self.select(str(msg.get("what", "")))
            except KeyError as exc:
                return {"ok": False, "error": str(exc.args[0])}
            for n in names:
                self.wanted[n] = op == "announce"
            self.note(f"control {op} {msg.get('what')}")
            self.sync()
            return {"ok": True, "announced": sorted(self.announced), "at": time.time()}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def health(self, sock: socket.socket) -> None:
        """One probe of the local responder (and of the local DNS server, with
        ``dns_health``); updates healthy (dns_ok) with rise/fall."""
        h = self.plan["health"]
        token = uuid.uuid4().hex[:12]
        ok = ask(sock, json.dumps({"token": token}).encode(), (h["target"], h["port"]), h["timeout"],
                 lambda data: json.loads(data.decode()).get("token") == token)
        self.rise_fall("healthy", "health", ok, h)
        if self.plan.get("dns_health"):
            self.dns_health(sock, h)
        self.sync()

    def dns_health(self, sock: socket.socket, h: dict) -> None:
        """One query to the local DNS server (id.server CH TXT: any reply with
        our id is an answer); updates dns_ok with the same rise/fall."""
        d = self.plan["dns_health"]
        qid = int.from_bytes(os.urandom(2), "big")
        query = qid.to_bytes(2, "big") + bytes([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + \
            b"\x02id\x06server\x00" + bytes([0, 16, 0, 3])   # QTYPE TXT, QCLASS CH
        ok = ask(sock, query, (d["target"], d["port"]), h["timeout"],
                 lambda data: len(data) >= 2 and int.from_bytes(data[:2], "big") == qid)
        self.rise_fall("dns_ok", "dns health", ok, h)

    def rise_fall(self, attr: str, label: str, ok: bool, h: dict) -> None:
        """``rise`` successes in a row set ``attr``, ``fall`` failures clear it."""
        oks, fails = self.streak.get(attr, (0, 0))
        oks, fails = (oks + 1, 0) if ok else (0, fails + 1)
        self.streak[attr] = (oks, fails)
        if ok and not getattr(self, attr) and oks >= h["rise"]:
            setattr(self, attr, True)
            self.note(f"{label} up")
        elif not ok and getattr(self, attr) and fails >= h["fall"]:
            setattr(self, attr, False)
            self.note(f"{label} down")


def ask(sock: socket.socket, payload: bytes, addr: tuple, timeout: float, match) -> bool:
    """Send one datagram and wait up to ``timeout`` for a reply that ``match`` accepts."""
    try:
        sock.sendto(payload, addr)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            data, _ = sock.recvfrom(2048)
            if match(data):
                return True
    except (OSError, ValueError):
        pass
    return False


def serve(workdir: Path) -> None:
    os.chdir(workdir)  # relative socket path: run folders can be deep
    plan = json.loads(Path("speaker.json").read_text())
    sp = Speaker(plan, Path("speaker.log"))
    sp.note(f"started pid {os.getpid()}")
    if os.path.exists("speaker.sock"):
        os.unlink("speaker.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind("speaker.sock")
    srv.listen(16)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, "accept")
    sel.register(sys.stdin, selectors.EVENT_READ, "exabgp")
    interval = float(plan["health"]["interval"])
    next_check = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= next_check:
            sp.health(probe)
            next_check = now + interval
        for key, _ in sel.select(timeout=max(0.0, next_check - time.monotonic())):
            if key.data == "exabgp":
                if not sys.stdin.readline():  # ExaBGP went away: so do we
                    sp.note("exabgp closed our stdin; exiting")
                    return
            elif key.data == "accept":
                conn, _ = srv.accept()
                conn.settimeout(2)
                with conn:
                    try:
                        line = conn.makefile("r").readline()
                        reply = sp.control(json.loads(line))
                    except (OSError, ValueError) as exc:
                        reply = {"ok": False, "error": str(exc)}
                    try:
                        conn.sendall((json.dumps(reply) + "\n").encode())
                    except OSError:
                        pass


def main() -> int:
    ap = argparse.ArgumentParser(description="ExaBGP API process of an anycastlab PoP")
    ap.add_argument("--dir", required=True, type=Path, help="the edge host's run folder")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        serve(args.dir)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
