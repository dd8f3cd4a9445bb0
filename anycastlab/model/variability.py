"""Latency variability and random loss per link direction.

Every direction of a link adds a queueing delay q(t) >= 0 to its
propagation delay. q has a log-normal marginal (mean ``mean_ms``, standard
deviation ``sd_ms``; queueing delays are positive and long-tailed) driven by
a unit Ornstein-Uhlenbeck process X with correlation time ``tau_ms``, on a
grid of step d = max(1 ms, tau / 20) counted from the moment the variability
was set on the line (a step far shorter than tau changes nothing a probe can
see, and a line idle for a while catches up in few steps):

    X_0 = N_0,   X_k = a X_(k-1) + sqrt(1 - a^2) N_k,   a = exp(-d / tau)
    q_k = exp(mu + sigma X_k),   sigma^2 = ln(1 + sd^2 / mean^2),   mu = ln(mean) - sigma^2 / 2

The N_k come from a counter-based generator (splitmix64 of the line's seed
and k, then Box-Muller), so a line's sample path depends only on the run's
seed and the line's key, not on when packets pass: the same seed gives the
same delays, and the native engine (agents/native/linkd.c) computes the very
same numbers (a lab test compares them). A packet arriving in step k is held
for q_k more; FIFO order still holds (no packet leaves before the one ahead
of it), so flows are never reordered. Loss: each packet is dropped with
probability ``loss``, drawn from a second stream on the line's packet count.

Link classes and their defaults are documented, with sources, in
docs/topology.md ("Variability").
"""
from __future__ import annotations

import math
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

MASK = (1 << 64) - 1
GRID_NS = 1_000_000  # the finest step of the process: 1 ms
STEPS_PER_TAU = 20   # coarser for long correlation times: tau / 20
CLASSES = ("lan", "access", "interconnect", "long_haul", "submarine")


class Variability(BaseModel):
    """Queueing delay (log-normal, mean-reverting) and random loss of one link direction."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mean_ms: float = Field(0.0, ge=0.0, le=1000.0)
    sd_ms: float = Field(0.0, ge=0.0, le=1000.0)
    tau_ms: float = Field(100.0, ge=1.0, le=600_000.0)
    loss: float = Field(0.0, ge=0.0, le=0.5)

    @model_validator(mode="after")
    def _sd_needs_mean(self) -> "Variability":
        if self.sd_ms > 0 and self.mean_ms == 0:
            raise ValueError("sd_ms > 0 needs mean_ms > 0 (a queueing delay is never negative)")
        return self

    @property
    def active(self) -> bool:
        return self.mean_ms > 0 or self.loss > 0

    def merged(self, over: Optional["Variability"]) -> "Variability":
        """These defaults with the fields ``over`` sets explicitly."""
        if over is None:
            return self
        return self.model_copy(update=over.model_dump(exclude_unset=True))


# Defaults per class: see docs/topology.md for what each rests on.
DEFAULTS: dict[str, Variability] = {
    "lan": Variability(),
    "access": Variability(mean_ms=1.0, sd_ms=1.5, tau_ms=200.0),
    "interconnect": Variability(mean_ms=0.1, sd_ms=0.2, tau_ms=50.0),
    "long_haul": Variability(mean_ms=0.05, sd_ms=0.1, tau_ms=50.0),
    "submarine": Variability(mean_ms=0.05, sd_ms=0.1, tau_ms=50.0),
}


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def fnv1a(text: str) -> int:
    h = 1469598103934665603
    for b in text.encode():
        h = ((h ^ b) * 1099511628211) & MASK
    return h


def line_seed(seed: int, key: str) -> int:
    """The generator seed of one line (interface egress) for a run's seed."""
    return splitmix64((seed & MASK) ^ fnv1a(key))


def uniform(s: int, n: int) -> float:
    """The n-th uniform in (0, 1) of stream s."""
    return ((splitmix64((s + n) & MASK) >> 11) + 0.5) / 9007199254740992.0


def normal(s: int, k: int) -> float:
    u1, u2 = uniform(s, 2 * k), uniform(s, 2 * k + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


class QueueProcess:
    """One line's queueing delay and loss draws (the Python engine uses it;
    linkd.c implements the same arithmetic)."""

    def __init__(self, v: Variability, seed: int, key: str, t0_ns: int) -> None:
        self.v, self.t0, self.seed = v, t0_ns, seed
        self.s = line_seed(seed, key)
        self.s_loss = splitmix64(self.s ^ 0x4C4F5353)
        self.sigma = math.sqrt(math.log(1.0 + (v.sd_ms / v.mean_ms) ** 2)) if v.mean_ms > 0 else 0.0
        self.mu = math.log(v.mean_ms) - self.sigma ** 2 / 2 if v.mean_ms > 0 else 0.0
        self.grid_ns = grid_ns(v.tau_ms)
        self.a = math.exp(-(self.grid_ns / 1e6) / v.tau_ms)
        self.b = math.sqrt(1.0 - self.a * self.a)
        self.k = 0
        self.x = normal(self.s, 0)
        self.packets = 0

    def step_to(self, k: int) -> None:
        while self.k < k:
            self.k += 1
            self.x = self.a * self.x + self.b * normal(self.s, self.k)

    def queue_ms_at_step(self, k: int) -> float:
        if self.v.mean_ms <= 0:
            return 0.0
        self.step_to(k)
        return math.exp(self.mu + self.sigma * self.x)

    def queue_ns(self, now_ns: int) -> int:
        """Extra holding time of a packet arriving now."""
        if self.v.mean_ms <= 0:
            return 0
        return int(self.queue_ms_at_step(max(0, (now_ns - self.t0) // self.grid_ns)) * 1e6)

    def lose(self) -> bool:
        """Whether the next packet is dropped."""
        if self.v.loss <= 0:
            return False
        self.packets += 1
        return uniform(self.s_loss, self.packets) < self.v.loss


class LoadDraw:
    """The load model's share of a line (model/load.py): an extra holding time
    and a drop probability from a third stream (vary.h: ``load_t``)."""

    def __init__(self, ms: float, loss: float, seed: int, key: str) -> None:
        if not (isinstance(ms, (int, float)) and 0 <= ms <= 1000):
            raise ValueError("load ms: 0 to 1000")
        if not (isinstance(loss, (int, float)) and 0 <= loss <= 1):
            raise ValueError("load loss: 0 to 1")
        self.ms, self.loss, self.ns = float(ms), float(loss), round(ms * 1e6)
        self.s = splitmix64(line_seed(seed, key) ^ 0x4C4F4144)
        self.packets = self.shed = 0

    def update(self, other: "LoadDraw") -> None:
        """New figures, the same stream (the native engine keeps its counter too)."""
        self.ms, self.loss, self.ns, self.s = other.ms, other.loss, other.ns, other.s

    def lose(self) -> bool:
        if self.loss <= 0:
            return False
        self.packets += 1
        if uniform(self.s, self.packets) < self.loss:
            self.shed += 1
            return True
        return False


def grid_ns(tau_ms: float) -> int:
    """The step of a line's process: max(1 ms, tau / 20), in ns (linkd.c: the same)."""
    return max(GRID_NS, int(tau_ms * 1e6 / STEPS_PER_TAU))


def trace(v: Variability, seed: int, key: str, n: int) -> list[float]:
    """The first n grid values (ms) of a line's queueing delay."""
    p = QueueProcess(v, seed, key, 0)
    return [p.queue_ms_at_step(k) for k in range(n)]
