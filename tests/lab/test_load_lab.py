"""The load model on a tiny lab: the paths come from the FIBs, a loaded
link adds the M/M/1/K delay of its utilisation (measured by ping), and
beyond capacity it drops the excess."""
from __future__ import annotations

import math
import re
import statistics

import pytest
import yaml

from anycastlab.lab.lab import Lab
from anycastlab.measure.load import LoadModel
from anycastlab.model.addressing import client_host_name
from anycastlab.model.files import PROJECT
from anycastlab.model.load import effect
from anycastlab.model.settings import Load
from anycastlab.model.topofile import load_topology

TIME_RE = re.compile(r"time=([\d.]+) ms")


@pytest.fixture(scope="module")
def llab(tmp_path_factory):
    """tiny with c1's access link at 1 Gbit/s and c1 asking for 0.9 Gbit/s."""
    tmp = tmp_path_factory.mktemp("load")
    data = yaml.safe_load((PROJECT / "topologies" / "tiny.yaml").read_text())
    data["settings"] = {"load": {"upstream_ratio": 0.0}}
    data["ases"] = [{**a, "demand_gbps": 0.9} if a["id"] == "c1" else a for a in data["ases"]]
    data["links"] = [{"a": "c1-nyc", "b": "tra-nyc", "capacity_gbps": 1.0}
                     if lk == ["c1-nyc", "tra-nyc"] else lk for lk in data["links"]]
    (tmp / "tiny-load.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    lab = Lab(load_topology(tmp / "tiny-load.yaml"), runs_dir=tmp / "runs", dns_settings=None)
    lab.start()
    yield lab
    lab.stop()


def pings(lab, n: int, interval: float = 0.01) -> tuple[list[float], int]:
    dst = lab.plan.services.scheme_targets()["unicast:nyc"]
    out = lab.run(client_host_name("c1"), ["ping", "-n", "-c", str(n), "-i", str(interval), "-W", "1", dst],
                  check=False)
    times = [float(t) for t in TIME_RE.findall(out)]
    return times, n - len(times)


def test_paths_come_from_the_fibs_and_the_load_adds_the_documented_delay(llab):
    base = statistics.median(pings(llab, 60)[0])
    lm = LoadModel(llab, Load(ipa_fraction=0.5))
    entry = lm.apply({"c1": {"tra": 1.0}})
    # c1 is single-homed behind tra in New York: every answer reaches it over tra-nyc -> c1-nyc
    assert lm.paths[("c1", "tra")][1][-2:] == [("tra-nyc", "c1-nyc"), ("c1-nyc", "h-c1")]
    assert lm.paths[("c1", "global")][0][0] == ("h-c1", "c1-nyc")
    gbps, _, rho, delay, loss = entry["links"]["tra-nyc>c1-nyc"]
    assert gbps == pytest.approx(0.9) and rho == pytest.approx(0.9) and loss == 0.0
    want = effect(0.9, 1.0, llab.topo.settings.load)
    assert delay == pytest.approx(want.delay_ms, abs=1e-3) and 3.0 < want.delay_ms < 6.0
    assert entry["lines_changed"] >= 1 and not entry["unrouted"]
    loaded, lost = pings(llab, 60)
    assert lost == 0
    assert statistics.median(loaded) - base == pytest.approx(want.delay_ms, abs=max(0.3, 0.05 * want.delay_ms))
    # the load comes off when the demand goes
    lm.demand["c1"] = 0.0
    lm.apply({"c1": {"tra": 1.0}})
    assert statistics.median(pings(llab, 60)[0]) - base < 0.3


def test_beyond_capacity_the_link_drops_the_excess(llab):
    lm = LoadModel(llab, Load(ipa_fraction=0.5))
    lm.demand["c1"] = 2.0                    # twice the link: half of it cannot pass
    entry = lm.apply({"c1": {"tra": 1.0}})
    _, _, rho, delay, loss = entry["links"]["tra-nyc>c1-nyc"]
    assert rho == pytest.approx(2.0) and loss == pytest.approx(0.5, abs=1e-3) and delay > 45
    n = 400
    times, lost = pings(llab, n, 0.005)
    sd = math.sqrt(n * 0.5 * 0.5)
    assert abs(lost - n * 0.5) < 5 * sd, (lost, n)   # within 5 sigma of the model's loss
    assert statistics.median(times) > delay
    lm.demand["c1"] = 0.0
    lm.apply({})
    assert pings(llab, 50)[1] == 0
