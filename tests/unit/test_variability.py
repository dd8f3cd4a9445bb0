"""The variability model (no root): reproducible, the configured marginal and
correlation, and the topology file's classes, defaults and bad values."""
from __future__ import annotations

import math
import statistics

import pytest

from anycastlab.errors import TopologyError
from anycastlab.model.topofile import load_topology
from anycastlab.model.variability import DEFAULTS, QueueProcess, Variability, trace

V = Variability(mean_ms=2.0, sd_ms=1.5, tau_ms=20.0)


def test_same_seed_same_delays_other_seed_other_delays():
    assert trace(V, 3, "tra-nyc-e0", 500) == trace(V, 3, "tra-nyc-e0", 500)
    assert trace(V, 4, "tra-nyc-e0", 500) != trace(V, 3, "tra-nyc-e0", 500)
    assert trace(V, 3, "tra-nyc-e1", 500) != trace(V, 3, "tra-nyc-e0", 500)


def test_the_delay_of_a_packet_depends_on_its_time_not_on_other_packets():
    a, b = QueueProcess(V, 3, "k", 0), QueueProcess(V, 3, "k", 0)
    for t in range(0, 50_000_000, 700_000):  # one sees a packet every 0.7 ms ...
        a.queue_ns(t)
    assert a.queue_ns(50_000_000) == b.queue_ns(50_000_000)  # ... the other only this one


def test_marginal_mean_sd_and_correlation_time():
    xs = trace(V, 11, "k", 400_000)  # 400 s of 1 ms steps: ~20,000 correlation times
    assert statistics.fmean(xs) == pytest.approx(2.0, rel=0.05)
    assert statistics.pstdev(xs) == pytest.approx(1.5, rel=0.1)
    logs = [math.log(x) for x in xs]
    m, var = statistics.fmean(logs), statistics.pvariance(logs)
    lag = 20  # tau in steps: the correlation of log-delay there is e^-1
    r = statistics.fmean((logs[i] - m) * (logs[i + lag] - m) for i in range(len(logs) - lag)) / var
    assert r == pytest.approx(math.exp(-1), abs=0.05)
    assert min(xs) > 0


def test_loss_rate_and_constant_delay():
    p = QueueProcess(Variability(loss=0.1), 1, "k", 0)
    assert sum(p.lose() for _ in range(20000)) / 20000 == pytest.approx(0.1, abs=0.01)
    assert p.queue_ns(10**9) == 0
    c = QueueProcess(Variability(mean_ms=1.0), 1, "k", 0)  # sd 0: a constant queueing delay
    assert c.queue_ns(5 * 10**9) == 1_000_000


@pytest.mark.parametrize("fields, word", [
    ({"mean_ms": -1}, "mean_ms"), ({"sd_ms": 1}, "mean_ms"), ({"mean_ms": 1, "tau_ms": 0}, "tau_ms"),
    ({"loss": 0.9}, "loss"), ({"mean_ms": 1e9}, "mean_ms"), ({"jitter": 1}, "jitter")])
def test_bad_values_are_refused(fields, word):
    with pytest.raises(ValueError, match=word):
        Variability(**fields)


TOPO = """
name: v
settings:
  variability: {access: {mean_ms: 4}%s}
cities:
  - {id: nyc, name: New York, lat: 40.7, lon: -74.0}
  - {id: lon, name: London, lat: 51.5, lon: -0.1}
ases:
  - {id: cdn, asn: 64512, name: CDN, role: cdn, cities: [nyc]}
  - {id: tra, asn: 64600, name: A, role: transit, cities: [nyc, lon]}
  - {id: c1, asn: 65001, name: C, role: client, cities: [lon]}
relationships:
  - {provider: tra, customer: cdn}
  - {provider: tra, customer: c1}
links:
  - {a: tra-nyc, b: tra-lon, class: submarine, variability: {loss: 0.01}}
  - [cdn-nyc, tra-nyc]
  - [c1-lon, tra-lon]
"""


def test_classes_defaults_and_overrides(write_topo):
    t = load_topology(write_topo(TOPO % ""))
    sub, cdn, acc = t.links
    assert (sub.cls, cdn.cls, acc.cls) == ("submarine", "interconnect", "access")
    assert sub.variability == DEFAULTS["submarine"].model_copy(update={"loss": 0.01})
    assert cdn.variability == DEFAULTS["interconnect"]
    assert acc.variability.mean_ms == 4 and acc.variability.sd_ms == DEFAULTS["access"].sd_ms


def test_without_a_variability_section_only_links_that_ask_vary(write_topo):
    t = load_topology(write_topo(TOPO.replace("  variability: {access: {mean_ms: 4}%s}\n", "")
                                 .replace("settings:\n", "")))
    assert [lk.variability.active for lk in t.links] == [True, False, False]
    assert t.links[0].variability == Variability(loss=0.01)


def test_unknown_class_and_bad_value_name_the_key(write_topo):
    with pytest.raises(TopologyError) as e:
        load_topology(write_topo(TOPO % ", backbone: {mean_ms: 1}"))
    assert "settings.variability" in str(e.value) and "backbone" in str(e.value)
    with pytest.raises(TopologyError) as e:
        load_topology(write_topo(TOPO.replace("{loss: 0.01}", "{loss: -0.5}") % ""))
    assert "links[0].variability.loss" in str(e.value)


def test_netem_folds_variability_into_its_delay_jitter_and_loss(tiny):
    """The kernel backend (not on this machine) gets mean queueing added to the
    delay, the sd as netem's jitter and the loss in percent; a latency event keeps them."""
    from anycastlab.lab.links import NetemBackend
    from anycastlab.model.addressing import plan_addresses

    class Runner:
        calls: list[list[str]] = []

        def run(self, node, argv, check=True):  # type: ignore[no-untyped-def]
            self.calls.append(argv)
            return ""

    runner = Runner()
    backend = NetemBackend(runner)
    intf = plan_addresses(tiny).nodes["tra-nyc"].interfaces[0]  # the trans-Atlantic link, 41.877 ms
    backend.start([intf], None, None, None)
    assert runner.calls[-1][-4:] == ["delay", "41.877ms", "limit", "100000"]
    backend.set_variability(intf, Variability(mean_ms=5, sd_ms=2, loss=0.01))
    assert runner.calls[-1][7:] == ["delay", "46.877ms", "2.000ms", "loss", "1.0000%", "limit", "100000"]
    backend.set_delay(intf, 10.0)  # a latency event: the variability stays
    assert runner.calls[-1][7:] == ["delay", "15.000ms", "2.000ms", "loss", "1.0000%", "limit", "100000"]
