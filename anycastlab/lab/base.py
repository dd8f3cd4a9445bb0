"""What the daemon services and node builders need of a lab, as a Protocol:
they take any object with these members (``Lab`` is one), so they import
no ``Lab`` and the lab's modules form no import circle."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from ..model.addressing import AddressPlan
from ..model.topology import Topology
from .record import RunRecord


class LabBase(Protocol):
    topo: Topology
    plan: AddressPlan
    record: Optional[RunRecord]
    progress: Callable[[str, int, int], None]
    net: Any
    mn: dict[str, Any]                       # node name -> Mininet node
    pids: dict[str, int]                     # node name -> PID of its namespace's shell
    procs: dict[str, subprocess.Popen]       # "<kind>:<node>" -> daemon
    dns_settings: Any                        # DnsSettings, or None: no DNS server
    dns_serving: bool                        # the anycast DNS servers run: routers must learn D

    def spawn(self, kind: str, node: str, cmd: list[str],
              env: Optional[dict] = None, cwd: Optional[Path] = None) -> subprocess.Popen: ...

    def wait_converged(self, timeout: float) -> None: ...

    def stop_daemon(self, kind: str, node: str) -> None: ...

    def bird_socket(self, router: str) -> Path: ...

    def exec(self, node: str, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess: ...

    def run(self, node: str, argv: list[str], check: bool = True, timeout: float = 60) -> str: ...

    def routes(self) -> Any: ...             # a RouteReader (lab/routes.py), used in one thread
