"""Typed errors raised by the library.

Only the command line turns these into messages and exit codes, so every
error carries what a person needs to act: where (file, line, key path), what
is wrong, and how to fix it.
"""
from __future__ import annotations

from pathlib import Path


class AnycastlabError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, file: str | Path | None = None,
                 key: str | None = None, line: int | None = None,
                 fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.key = key
        self.line = line
        self.fix = fix

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file + (f":{self.line}" if self.line else ""))
        if self.key:
            where.append(f"at '{self.key}'")
        text = (" ".join(where) + ": " if where else "") + self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class InputError(AnycastlabError):
    """A topology or scenario file (or a command-line argument) is wrong."""

    exit_code = 2


class TopologyError(InputError):
    """The topology file does not describe a usable internet."""


class EnvironmentProblem(AnycastlabError):
    """The machine lacks something: root, a daemon binary, a kernel feature."""

    exit_code = 2


class LabError(AnycastlabError):
    """Bringing up, running or tearing down the lab failed."""

    exit_code = 3


class ConvergenceTimeout(LabError):
    """BGP did not converge in time; the message names what is stuck."""


class ShaperError(LabError, RuntimeError):
    """A shaper request failed or the shaper could not be reached."""
