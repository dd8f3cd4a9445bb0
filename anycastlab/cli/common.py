"""Pieces every verb shares: the two consoles, argument helpers, progress
bars and the tables more than one verb prints.

Kept import-light (rich and the error types only) because every
``anycastlab`` start-up pays for it; library imports stay inside functions.
"""
from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any, Callable, Optional

from rich.console import Console, ConsoleDimensions
from rich.table import Table

from ..lab.record import DEFAULT_RUNS_DIR

PIPE_WIDTH = 80   # columns of output that goes to a file or a pipe, whatever the environment says


class CliConsole(Console):
    """A console whose layout depends only on its own stream.

    rich sizes output from any of stdin/stdout/stderr that is a terminal and
    lets ``COLUMNS`` override it, so the same command printed one way in a
    developer's shell and another in CI or a script. Here a console writing
    to a terminal uses that terminal's width; one writing anywhere else is
    always ``PIPE_WIDTH`` wide. Messages are never broken inside a line
    (``soft_wrap``): a path or an error stays greppable; tables still fit
    the width."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(soft_wrap=True, **kw)

    @property
    def size(self) -> ConsoleDimensions:  # type: ignore[override]
        if self._width is not None:   # set on purpose (console.width = N)
            return ConsoleDimensions(self._width, self._height or 25)
        if self.is_terminal:
            import os

            try:
                w, h = os.get_terminal_size(self.file.fileno())
                return ConsoleDimensions(w or PIPE_WIDTH, h or 25)
            except (AttributeError, ValueError, OSError):
                pass
        return ConsoleDimensions(PIPE_WIDTH, 25)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


out = CliConsole()
err = CliConsole(stderr=True)


def add_runs_dir(sp: argparse.ArgumentParser) -> None:
    """The --runs-dir option, identical on every verb that touches run folders."""
    sp.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR),
                    help="where run folders live (default: %(default)s, or $ANYCASTLAB_RUNS)")


def add_links(sp: argparse.ArgumentParser) -> None:
    """The --links option: which link delay backend a lab uses."""
    from ..lab.links import BACKENDS

    sp.add_argument("--links", default="auto", choices=list(BACKENDS),
                    help="link delay backend (default: auto)")


def add_variability(sp: argparse.ArgumentParser) -> None:
    """--seed and --no-variability: the links' queueing delay and loss (docs/topology.md)."""
    sp.add_argument("--seed", type=seed_arg, default=None,
                    help="seed of the links' variability: the same seed, the same delays (default 1)")
    sp.add_argument("--no-variability", dest="variability", action="store_false", default=None,
                    help="apply no queueing delay or loss even where the topology sets them")


def add_live(sp: argparse.ArgumentParser) -> None:
    """--live [PORT]: serve the live view on 127.0.0.1 while the lab runs (docs/live.md)."""
    sp.add_argument("--live", nargs="?", type=port_arg, const=8765, default=None, metavar="PORT",
                    help="serve a live view of the lab on http://127.0.0.1:PORT/ (default port 8765)")


def port_arg(text: str) -> int:
    """A TCP port from 1024 to 65535 (no privileged port for a local page)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 1024 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"{v} is out of range (1024 to 65535)")
    return v


def check_port_free(port: int) -> None:
    """Refuse a busy port before anything is built (bad input: exit 2, nothing left behind)."""
    import socket

    from ..errors import EnvironmentProblem

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    except OSError as exc:
        raise EnvironmentProblem(f"port {port} on 127.0.0.1 is not free for the live view ({exc.strerror})",
                                 key="--live", fix="give another port: --live PORT") from None
    finally:
        s.close()


def start_live(lab, port: int):  # type: ignore[no-untyped-def]
    """Start the live view on a running lab; returns its stop function."""
    from ..live.view import LiveView

    view = LiveView(lab, port).start()
    out.print(f"live view: [bold]{view.url}[/bold] (this machine only)")
    return view.stop


def seed_arg(text: str) -> int:
    """A seed: an integer from 0 to 2^32 - 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if not 0 <= v < 2 ** 32:
        raise argparse.ArgumentTypeError(f"{v} is out of range (0 to 4294967295)")
    return v


def load_topology_arg(path: str):  # type: ignore[no-untyped-def]
    """The topology a TOPOLOGY argument names (a path or a name in topologies/)."""
    from ..model.files import resolve_named
    from ..model.topofile import load_topology

    return load_topology(resolve_named(path, "topology"))


def lab_for(args: argparse.Namespace, topo_name: Optional[str]):  # type: ignore[no-untyped-def]
    """Attach to a running lab (of that topology, if given), or None."""
    from ..lab.lab import Lab
    from ..lab.record import list_runs

    for rec in reversed(list_runs(Path(args.runs_dir))):
        if args.run and rec.id != args.run:
            continue
        if rec.data.get("status") == "up" and rec.owner_alive():
            if topo_name is None or rec.data.get("topology") == topo_name:
                return Lab.attach(rec)
    return None


def sigterm_as_interrupt() -> None:
    """Make SIGTERM tear a lab down like Ctrl-C; installed only once a verb owns a lab,
    so that main() turns it into exit code 130 and everything else dies as before."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


class RichProgress:
    """Progress bars for the long steps of bringing a lab up."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("{task.description:<18}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                 transient=False)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> "RichProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=total)
        self.progress.update(self.tasks[step], completed=done, total=total)


def print_phase_tables(data: dict, title: Callable[[dict], str]) -> None:
    """One summary table per phase, titled by `title(phase)`; scenario and report share it."""
    from ..report.tables import SUMMARY_HEAD_SHORT, summary_rows

    for phase in data["phases"]:
        table = Table(title=title(phase))
        for h in SUMMARY_HEAD_SHORT:
            table.add_column(h, justify="left" if h == "scheme" else "right")
        for row in summary_rows(phase, short=True, schemes=data["schemes"]):
            table.add_row(*row)
        out.print(table)


def print_events(data: dict) -> None:
    """The events table of a timeline run (median / worst client)."""
    from ..report.tables import EVENT_HEAD, event_rows

    table = Table(title=f"{data['scenario']}: events (seconds from each event; median / worst client)")
    keep = [0, 1, 2, 3, 6, 8, 9, 10, 11, 13]
    for i in keep:
        table.add_column(EVENT_HEAD[i], justify="left" if i in (2, 6) else "right")
    for row in event_rows(data["timeline"]):
        table.add_row(*[row[i] for i in keep])
    out.print(table)
