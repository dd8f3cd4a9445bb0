"""The native engine sharded over two real-time workers (--threads 2): the
same delays, and its stats and health still cover every line."""
from __future__ import annotations

import pytest
from labutil import link_errors
from test_engine import strict

from anycastlab.lab.lab import Lab
from anycastlab.lab.links import HEALTH_FILE, native_engine
from anycastlab.model.samples import read_health


@pytest.fixture(scope="module")
def lab2(tiny, tmp_path_factory):
    if native_engine() is None:
        pytest.skip("the native engine is not built here ('make setup' builds it)")
    mp = pytest.MonkeyPatch()
    mp.setenv("ANYCASTLAB_ENGINE_THREADS", "2")
    lab = Lab(tiny, runs_dir=tmp_path_factory.mktemp("runs"), links="userspace", dns_settings=None)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
        mp.undo()


def test_two_workers_keep_every_delay(lab2):
    assert lab2.record.data["link_scheduling"].endswith("2 thread(s)")
    errors = link_errors(lab2, strict, count=9, tries=2)
    assert not errors, errors
    stats = lab2.backend.stats()
    assert len(stats) == sum(len(n.interfaces) for n in lab2.plan.nodes.values())
    assert sum(s["passed"] for s in stats.values()) > 0
    assert read_health(lab2.record.folder / HEALTH_FILE)
