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
        # every error found in the same check, this one first (see model.suggest.combine)
        self.errors: list[AnycastlabError] = [self]

    def __str__(self) -> str:
        if len(self.errors) > 1:
            return self._several()
        return self._one()

    def _one(self) -> str:
        where = []
        if self.file:
            where.append(self.file + (f":{self.line}" if self.line else ""))
        if self.key:
            where.append(f"at '{self.key}'")
        text = (" ".join(where) + ": " if where else "") + self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text

    def _several(self) -> str:
        """All errors, one per entry: a person fixes them in one pass."""
        files = {e.file for e in self.errors}
        one_file = len(files) == 1 and self.file is not None
        lines = [f"{len(self.errors)} errors" + (f" in {self.file}:" if one_file else ":")]
        for e in self.errors:
            if one_file:
                where = ", ".join(x for x in (f"line {e.line}" if e.line else "",
                                              f"key {e.key}" if e.key else "") if x)
            else:
                where = " ".join(x for x in ((e.file or "") + (f":{e.line}" if e.line else ""),
                                             f"at '{e.key}'" if e.key else "") if x)
            lines.append(f"  {where}: {e.message}" if where else f"  {e.message}")
            if e.fix:
                lines.append(f"    fix: {e.fix}")
        return "\n".join(lines)


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
