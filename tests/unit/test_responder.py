"""The responder's hold time and the probes' network RTT (no sockets, no root)."""
from __future__ import annotations

import socket
import struct

import pytest

from anycastlab.agents.responder import SO_TIMESTAMPNS, network_rtt, rx_time


def test_hold_is_subtracted() -> None:
    assert network_rtt(10.0, 10.005, {"held_us": 1000}) == pytest.approx(0.004)


@pytest.mark.parametrize("held", [None, -5, 6000, 1.5, "100", True])
def test_absent_or_insane_hold_is_ignored(held: object) -> None:
    """A reply from an older responder, or a hold longer than the RTT itself,
    leaves the wall-clock RTT as it is."""
    reply = {} if held is None else {"held_us": held}
    assert network_rtt(10.0, 10.005, reply) == pytest.approx(0.005)


def test_rx_time_reads_the_kernel_stamp() -> None:
    anc = [(socket.SOL_SOCKET, SO_TIMESTAMPNS, struct.pack("@qq", 1764000000, 250_000_000))]
    assert rx_time(anc) == pytest.approx(1764000000.25)


def test_rx_time_without_a_stamp_is_now() -> None:
    import time
    before = time.time()
    assert before <= rx_time([]) <= time.time()
