"""The ``anycastlab`` command line: the parser and the one place where library
errors become messages and exit codes.

2 for bad input or a missing prerequisite, 3 for a lab failure, 130 for
Ctrl-C (and for SIGTERM once a verb that owns a lab has installed
``common.sigterm_as_interrupt``). No tracebacks for errors the library raised
on purpose. Each verb lives in its own module with ``add_parser`` and ``run``;
adding a verb is one line in ``VERBS``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from ..errors import AnycastlabError
from . import (
    catchment,
    check,
    clean,
    compare,
    demo,
    explain,
    generate,
    index,
    render,
    report,
    scenario,
    simulate,
    status,
    sweep,
    up,
)
from . import exec as exec_
from .common import err

# in the order 'anycastlab --help' lists them
VERBS = [check, generate, render, up, exec_, catchment, explain, simulate, sweep, scenario, demo, report, index, compare, clean, status]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subcommand per module in VERBS."""
    p = argparse.ArgumentParser(prog="anycastlab", description="An emulated internet for "
                                "comparing global anycast with Individual Provider Anycast.")
    sub = p.add_subparsers(dest="command", required=True)
    for verb in VERBS:
        verb.add_parser(sub)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse, run the verb, and turn AnycastlabError / Ctrl-C into a message and exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AnycastlabError as exc:
        from rich.markup import escape

        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
