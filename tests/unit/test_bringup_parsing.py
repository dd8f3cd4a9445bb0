"""What the bring-up reads back: BIRD's export counts (how many routes its
export filter takes, how many it has written to the kernel) and the
kernel's main table from /proc/<pid>/net/route."""
from __future__ import annotations

import os

from anycastlab.lab.bird import exported_count, exported_target
from anycastlab.lab.routes import kernel_prefixes, route_table_prefixes

PROTOCOLS_ALL = """BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
fib        Kernel     master4    up     2026-11-30 12:00:00
  Channel ipv4
    State:          UP
    Table:          master4
    Preference:     10
    Input filter:   REJECT
    Output filter:  (unnamed)
    Routes:         0 imported, 1234 exported, 0 preferred
    Route change stats:     received   rejected   filtered    ignored   accepted
      Export updates:           2400          0         12        ---       2388
"""


def test_bird_export_counts():
    assert exported_count(PROTOCOLS_ALL) == 1234
    assert exported_target("BIRD 2.0.12 ready.\n1236 of 1306 routes for 1290 networks in table master4\n") == 1236
    assert exported_count("BIRD 2.0.12 ready.\nsyntax error") is None
    assert exported_target("") is None


def test_proc_net_route_is_read_as_prefixes():
    text = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            "r-e0\t0001400A\t0200400A\t0003\t0\t0\t32\t00FFFFFF\t0\t0\t0\n"       # 10.64.1.0/24 via
            "r-e1\t00000064\t00000000\t0001\t0\t0\t0\tFCFFFFFF\t0\t0\t0\n"        # 100.0.0.0/30
            "lo\t00000000\t0100007F\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")         # default
    assert route_table_prefixes(text) == {"10.64.1.0/24", "100.0.0.0/30", "0.0.0.0/0"}


def test_kernel_prefixes_reads_a_namespace_by_pid():
    # this process's own namespace: reading needs no root and changes nothing
    assert isinstance(kernel_prefixes(os.getpid()), set)
