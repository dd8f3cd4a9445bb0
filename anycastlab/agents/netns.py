"""Entering a network namespace from an agent (``os.setns`` exists only
from Python 3.12, hence ctypes). The link engine and the probe stream open
their sockets inside the lab's namespaces this way."""
from __future__ import annotations

import ctypes
import os

CLONE_NEWNET = 0x40000000
_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL("libc.so.6", use_errno=True)
    return _libc


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace open at ``fd``."""
    if libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def enter(path: str) -> None:
    """Enter the network namespace at ``path`` (e.g. /proc/PID/ns/net)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(fd)
    finally:
        os.close(fd)
