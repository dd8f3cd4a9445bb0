"""A timerfd on CLOCK_MONOTONIC (= time.monotonic) for the Python link
engine: epoll timeouts round up to whole milliseconds, a timerfd with an
absolute deadline wakes within microseconds."""
from __future__ import annotations

import ctypes
import math
import os

from .netns import libc


# ---------------------------------------------------------------- Linux glue
class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class Timer:
    """timerfd on CLOCK_MONOTONIC (= time.monotonic): epoll timeouts round up to 1 ms."""

    def __init__(self) -> None:
        self.fd = libc().timerfd_create(1, os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create")
        self.armed: float | None = None
        self._its = _Itimerspec()
        self._ref = ctypes.byref(self._its)

    def arm(self, when: float | None) -> None:
        if when == self.armed:
            return
        ns = 0 if when is None else max(1, math.ceil(when * 1e9))  # 0 disarms
        self._its.it_value.tv_sec, self._its.it_value.tv_nsec = divmod(ns, 1_000_000_000)
        libc().timerfd_settime(self.fd, 1, self._ref, None)  # 1 = TFD_TIMER_ABSTIME
        self.armed = when

    def fired(self) -> None:
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            pass
        self.armed = None  # force a re-arm even if the deadline is unchanged
