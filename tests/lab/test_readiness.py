"""The lab is up only when every client reaches every service it should
and the answers get home (lab/bird.py ``wait_paths``): the way back
converges on its own, and a busy machine once measured before it had.

The test takes one return route away from a PoP's border router (a
kernel route BIRD put there), sees the wait name that client and the node
where the answer stops, then puts the route back and sees the wait end."""
from __future__ import annotations

import threading

import pytest

from anycastlab.errors import ConvergenceTimeout
from anycastlab.measure.load import LoadModel
from anycastlab.model.settings import Load

pytestmark = pytest.mark.lab


def test_a_missing_way_back_is_waited_for_and_named(lab):
    site = lab.plan.nodes["c1-nyc"].site_prefix
    route = lab.run("cdn-nyc", ["ip", "-o", "route", "show", site]).strip()
    assert route.startswith(site), route
    spec = route.split()
    lab.run("cdn-nyc", ["ip", "route", "del", *spec])
    try:
        with pytest.raises(ConvergenceTimeout) as exc:
            lab.birds.wait_paths(0.5)
        text = str(exc.value)
        assert "c1 -> global" in text and "stops at cdn-nyc" in text, text
        assert "c2 ->" not in text   # only what is missing is named
        # the load model, too, waits for it and then says what it could not read
        load = LoadModel(lab, Load())
        load.read_paths(timeout=0.5)
        assert load.errors and "c1>global" in load.errors[0]
    finally:
        timer = threading.Timer(0.3, lambda: lab.run("cdn-nyc", ["ip", "route", "replace", *spec]))
        timer.start()
    lab.birds.wait_paths(10.0)   # returns once the route is back
    timer.join()
    load = LoadModel(lab, Load())
    load.read_paths(timeout=5)
    assert not load.errors and not load.missing()
