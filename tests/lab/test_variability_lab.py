"""Link variability on a tiny lab: the engine's queueing process is the
model's to the last bit (same seed, same delays), ping RTTs follow the
configured distribution, and loss appears at the configured rate."""
from __future__ import annotations

import math
import random
import re
import statistics

import pytest
import yaml

from anycastlab.lab.lab import Lab
from anycastlab.model.addressing import client_host_name
from anycastlab.model.files import PROJECT
from anycastlab.model.topofile import load_topology
from anycastlab.model.variability import Variability, trace

TIME_RE = re.compile(r"time=([\d.]+) ms")
VARY = {"mean_ms": 3.0, "sd_ms": 2.0, "tau_ms": 5.0, "loss": 0.05}
SEED = 7


@pytest.fixture(scope="module")
def vlab(tmp_path_factory):
    """tiny with one access link (c1-nyc -- tra-nyc) given queueing delay and loss."""
    tmp = tmp_path_factory.mktemp("vary")
    data = yaml.safe_load((PROJECT / "topologies" / "tiny.yaml").read_text())
    data["links"] = [{"a": "c1-nyc", "b": "tra-nyc", "variability": VARY}
                     if lk == ["c1-nyc", "tra-nyc"] else lk for lk in data["links"]]
    (tmp / "tiny-vary.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    lab = Lab(load_topology(tmp / "tiny-vary.yaml"), runs_dir=tmp / "runs", dns_settings=None, seed=SEED)
    lab.start()
    if lab.record.data["link_backend"] != "userspace":
        lab.stop()
        pytest.skip("netem applies its own jitter model; the process is the userspace engines'")
    yield lab
    lab.stop()


def lines_of_link(lab) -> list[str]:
    """The two interfaces (one per direction) of the varied link."""
    return [i.name for n in ("c1-nyc", "tra-nyc") for i in lab.plan.nodes[n].interfaces
            if i.peer_node in ("c1-nyc", "tra-nyc")]


def pings(lab, n: int, interval: float) -> tuple[list[float], int]:
    dst = lab.plan.services.scheme_targets()["unicast:nyc"]
    out = lab.run(client_host_name("c1"), ["ping", "-n", "-c", str(n), "-i", str(interval), "-W", "1",
                                           dst], check=False)
    times = [float(t) for t in TIME_RE.findall(out)]
    return times, n - len(times)


def test_engine_process_is_the_model_same_seed_same_delays(vlab):
    keys = lines_of_link(vlab)
    assert len(keys) == 2 and vlab.record.data["variability"] == {"seed": SEED, "applied": True, "lines": 2}
    v = Variability(**VARY)
    for key in keys:
        got = vlab.backend.client.trace(key, 2000)
        assert got == trace(v, SEED, key, 2000), key  # bit for bit
    other = trace(v, SEED + 1, keys[0], 50)
    assert other != trace(v, SEED, keys[0], 50)
    coarse = Variability(mean_ms=1.0, sd_ms=1.5, tau_ms=200.0)  # steps of 10 ms
    vlab.backend.client.vary(keys[0], SEED, **coarse.model_dump())
    assert vlab.backend.client.trace(keys[0], 500) == trace(coarse, SEED, keys[0], 500)
    vlab.backend.client.vary(keys[0], SEED, **VARY)


def test_rtt_follows_the_configured_distribution_and_loss_rate(vlab):
    keys = lines_of_link(vlab)
    for key in keys:  # the base RTT with the link quiet
        vlab.backend.client.vary(key, SEED)
    base = statistics.median(pings(vlab, 100, 0.01)[0])
    for key in keys:
        vlab.backend.client.vary(key, SEED, **VARY)
    times, lost = pings(vlab, 1500, 0.005)
    extra = sorted(t - base for t in times)
    # expected: the sum of two independent stationary log-normals (one per direction)
    sigma = math.sqrt(math.log(1 + (VARY["sd_ms"] / VARY["mean_ms"]) ** 2))
    mu = math.log(VARY["mean_ms"]) - sigma ** 2 / 2
    rnd = random.Random(1)
    model = sorted(rnd.lognormvariate(mu, sigma) + rnd.lognormvariate(mu, sigma) for _ in range(200000))

    def q(xs: list[float], p: float) -> float:
        return xs[min(len(xs) - 1, int(p * len(xs)))]

    for p in (0.25, 0.5, 0.9):
        want, got = q(model, p), q(extra, p)
        print(f"p{int(p * 100)}: measured {got:.3f} ms, model {want:.3f} ms")
        assert abs(got - want) <= 0.15 * want + 0.2, (p, got, want)
    expected_loss = 1 - (1 - VARY["loss"]) ** 2   # a ping is lost if either direction drops it
    print(f"loss {lost / 1500:.3f}, model {expected_loss:.3f}")
    assert 0.065 <= lost / 1500 <= 0.13, (lost, expected_loss)
    stats = vlab.backend.client.stats()
    assert sum(stats[k]["lost"] for k in keys) >= lost


def test_congest_and_decongest_events(vlab):
    from anycastlab.model import events

    link = ["c1-nyc", "tra-nyc"]
    congest = events.resolve({"kind": "congest", "link": link, "mean_ms": 20.0}, vlab.topo, [])
    events.apply(vlab, congest)                     # a constant 20 ms queue each way, no loss
    keys = lines_of_link(vlab)
    assert all(vlab.backend.client.trace(k, 3) == pytest.approx([20.0] * 3) for k in keys)
    times, lost = pings(vlab, 40, 0.02)
    assert lost == 0 and 40.0 < statistics.median(times) < 40.0 + 4.0
    events.apply(vlab, events.resolve({"kind": "decongest", "link": link}, vlab.topo, []))
    v = Variability(**VARY)                         # back to the topology's own variability
    assert all(vlab.backend.client.trace(k, 100) == trace(v, SEED, k, 100) for k in keys)
