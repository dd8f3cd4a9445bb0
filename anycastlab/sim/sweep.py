"""What-if sweeps, as AnyOpt evaluates anycast configurations: each
configuration changes which PoPs announce which prefix and which providers
the CDN buys from, and is scored by internet.route on the same graph
(catchments, demand-weighted RTT median and p90 for G, each P_k and IPA).

Configurations run in parallel: on Ray when it is importable (a cluster's
address, or a local Ray), else on a ProcessPoolExecutor whose workers get
the graph by fork (copy-on-write, nothing pickled) or, where there is no
fork, once each through the initializer. The spec file format is in
docs/simulation.md "Sweep spec".
"""
from __future__ import annotations

import csv
import json
import os
import random
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from pydantic import Field, ValidationError

from ..errors import InputError
from ..model.suggest import ErrorList, did_you_mean
from ..model.topology import StrictModel
from ..model.yamlsource import YamlSource, shape_error
from .internet import PrefixRoutes, route, service_prefixes
from .internet_graph import InternetGraph
from .internet_out import summarise

Progress = Callable[[str, int, int], None]
MAX_CONFIGS = 10_000
CACHE = 48   # routes kept per process: a P_k a configuration leaves alone is not routed again


class ConfigFile(StrictModel):
    name: str = Field(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f,]+$")
    drop_pops: list[str] = []
    drop_providers: list[int] = []
    add_links: dict[str, list[int]] = {}
    drop_links: dict[str, list[int]] = {}
    global_pops: Optional[list[str]] = None
    provider_pops: dict[int, list[str]] = {}


class SubsetFile(StrictModel):
    size: int = Field(ge=1)
    count: int = Field(ge=1, le=MAX_CONFIGS)
    seed: int = 1


class GenerateFile(StrictModel):
    drop_each_pop: bool = False
    drop_each_provider: bool = False
    drop_each_link: bool = False
    pop_subsets: Optional[SubsetFile] = None


class SweepFile(StrictModel):
    name: str = Field("sweep", min_length=1, max_length=60)
    description: str = ""
    unicast: bool = False
    baseline: bool = True
    configs: list[ConfigFile] = []
    generate: GenerateFile = GenerateFile()


@dataclass(frozen=True)
class Config:
    """One what-if: changes to the CDN spec's announcements (empty: as specified)."""

    name: str
    drop_pops: tuple[str, ...] = ()
    drop_providers: tuple[int, ...] = ()
    add_links: tuple[tuple[str, tuple[int, ...]], ...] = ()
    drop_links: tuple[tuple[str, tuple[int, ...]], ...] = ()
    global_pops: Optional[tuple[str, ...]] = None
    provider_pops: tuple[tuple[int, tuple[str, ...]], ...] = ()

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items()
                if k != "name" and v is not None and (v != () or k == "global_pops")}

    def links(self, g: InternetGraph) -> dict[str, list[int]]:
        """Which providers each PoP buys from under this configuration."""
        out = {p: [k for k in ks if k not in self.drop_providers] for p, ks in g.pop_providers.items()}
        for p in self.drop_pops:
            out[p] = []
        for p, ks in self.add_links:
            out[p] = out[p] + [k for k in ks if k not in out[p]]
        for p, ks in self.drop_links:
            out[p] = [k for k in out[p] if k not in ks]
        return out

    def prefixes(self, g: InternetGraph, unicast: bool) -> dict[str, list[tuple[str, int]]]:
        return service_prefixes(g, unicast, self.links(g), list(self.global_pops) if self.global_pops
                                is not None else None,
                                {k: list(ps) for k, ps in self.provider_pops} or None)


@dataclass
class Sweep:
    name: str
    configs: list[Config]
    unicast: bool = False
    description: str = ""
    path: Optional[Path] = None
    results: list[dict[str, Any]] = field(default_factory=list)


def load_sweep(path: str | Path, g: InternetGraph) -> Sweep:
    """Read a sweep spec and check every name in it against the graph's CDN."""
    src = YamlSource.load(path, "sweep spec")
    try:
        spec = SweepFile.model_validate(src.data)
    except ValidationError as exc:
        raise shape_error(src, exc, InputError, {}, "docs/simulation.md", SweepFile) from None
    errs = ErrorList(src)
    pops, provs = list(g.pops), g.providers
    for i, c in enumerate(spec.configs):
        at = ("configs", i)
        names = [*c.drop_pops, *c.add_links, *c.drop_links, *(c.global_pops or []),
                 *(p for ps in c.provider_pops.values() for p in ps)]
        for p in names:
            if p not in pops:
                errs.add(f"no PoP '{p}'{did_you_mean(p, pops)}", at, f"PoPs are {', '.join(pops)}")
        for k in [*c.drop_providers, *c.provider_pops]:
            if k not in provs:
                errs.add(f"AS{k} is not a provider of the CDN", at, "name one of "
                         + ", ".join(map(str, provs)) + " (add_links buys from a new one)")
        for p, ks in c.add_links.items():
            for k in ks:
                if g.index_of(k) < 0 or k == int(g.asns[g.cdn]):
                    errs.add(f"AS{k} (add_links at '{p}') is not in the graph", at,
                             "give an AS of the relationships file")
    if spec.generate.pop_subsets and spec.generate.pop_subsets.size > len(pops):
        errs.add(f"pop_subsets.size is larger than the {len(pops)} PoPs", ("generate", "pop_subsets", "size"),
                 f"use at most {len(pops)}")
    names = [c.name for c in spec.configs]
    for i, n in enumerate(names):
        if n in names[:i] or (spec.baseline and n == "baseline"):
            errs.add(f"configuration name '{n}' used twice", ("configs", i, "name"), "give each its own name")
    errs.raise_if_any()
    configs = ([Config("baseline")] if spec.baseline else []) + [_config(c) for c in spec.configs]
    configs += generated(g, spec.generate)
    if not configs:
        raise InputError("the sweep has no configuration", file=src.path,
                         fix="add 'configs:', a 'generate:' option, or leave 'baseline: true'")
    if len(configs) > MAX_CONFIGS:
        raise InputError(f"{len(configs)} configurations; a sweep runs at most {MAX_CONFIGS}",
                         file=src.path, fix="generate fewer (pop_subsets.count)")
    return Sweep(spec.name, configs, spec.unicast, spec.description, src.path)


def _config(c: ConfigFile) -> Config:
    return Config(c.name, tuple(c.drop_pops), tuple(c.drop_providers),
                  tuple((p, tuple(ks)) for p, ks in c.add_links.items()),
                  tuple((p, tuple(ks)) for p, ks in c.drop_links.items()),
                  tuple(c.global_pops) if c.global_pops is not None else None,
                  tuple((k, tuple(ps)) for k, ps in c.provider_pops.items()))


def generated(g: InternetGraph, gen: GenerateFile) -> list[Config]:
    """The configurations a ``generate`` block stands for, in a fixed order."""
    out: list[Config] = []
    if gen.drop_each_pop:
        out += [Config(f"without {p}", drop_pops=(p,)) for p in g.pops]
    if gen.drop_each_provider:
        out += [Config(f"without AS{k}", drop_providers=(k,)) for k in g.providers]
    if gen.drop_each_link:
        out += [Config(f"without {p}-AS{k}", drop_links=((p, (k,)),))
                for p in g.pops for k in g.pop_providers[p]]
    if gen.pop_subsets:
        rng = random.Random(gen.pop_subsets.seed)
        for i in range(gen.pop_subsets.count):
            keep = set(rng.sample(g.pops, gen.pop_subsets.size))
            out.append(Config(f"subset {i + 1}: {'+'.join(p for p in g.pops if p in keep)}",
                              drop_pops=tuple(p for p in g.pops if p not in keep)))
    return out


_CACHE: "OrderedDict[tuple, PrefixRoutes]" = OrderedDict()


def clear_cache() -> None:
    """Forget the routes this process remembers (benchmarks start cold)."""
    _CACHE.clear()


def routed(g: InternetGraph, name: str, pairs: list[tuple[str, int]]) -> PrefixRoutes:
    """internet.route, remembered by what was announced (per process)."""
    key = (id(g), tuple(sorted(pairs)))
    hit = _CACHE.get(key)
    if hit is None:
        hit = _CACHE[key] = route(g, name, pairs)
        if len(_CACHE) > CACHE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return hit


def evaluate(g: InternetGraph, cfg: Config, unicast: bool = False) -> dict[str, Any]:
    """One configuration's catchments and RTT percentiles (summarise's numbers)."""
    t = time.perf_counter()
    prefixes = cfg.prefixes(g, unicast)
    routes = {n: routed(g, n, pairs) for n, pairs in prefixes.items()}
    res: dict[str, Any] = {"name": cfg.name, "changes": cfg.changes()}
    res.update(summarise(g, routes))
    res["seconds"] = round(time.perf_counter() - t, 3)
    return res


_GRAPH: Optional[InternetGraph] = None   # the graph of a pool worker (fork: inherited, else sent once)


def _set_graph(g: InternetGraph) -> None:
    global _GRAPH
    _GRAPH = g


def _pool_task(i: int, cfg: Config, unicast: bool) -> tuple[int, dict[str, Any]]:
    assert _GRAPH is not None
    return i, evaluate(_GRAPH, cfg, unicast)


def ray_task(g: InternetGraph, cfg: Config, unicast: bool) -> dict[str, Any]:
    """What a Ray worker runs (the graph arrives once per node through Ray's object store)."""
    return evaluate(g, cfg, unicast)


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def run_sweep(g: InternetGraph, sweep: Sweep, workers: Optional[int] = None,
              ray_address: Optional[str] = None, backend: str = "auto",
              progress: Optional[Progress] = None) -> tuple[list[dict[str, Any]], str]:
    """Evaluate every configuration; returns the results in spec order and the
    backend used: ``ray``, ``pool`` or ``serial`` (``auto``: Ray when a
    cluster address is given or Ray is importable, else a process pool, serial
    with one worker)."""
    n = workers or os.cpu_count() or 1
    total = len(sweep.configs)
    if backend == "auto":
        if ray_address or (n > 1 and ray_available()):
            backend = "ray"
        else:
            backend = "pool" if n > 1 and total > 1 else "serial"
    if backend == "ray" and not ray_available():
        raise InputError("Ray is not installed", key="--ray",
                         fix="pip install 'anycastlab[ray]', or leave --ray out to use a process pool")
    tick = progress or (lambda step, done, total: None)
    tick("sweep", 0, total)
    if backend == "serial":
        results = []
        for i, c in enumerate(sweep.configs):
            results.append(evaluate(g, c, sweep.unicast))
            tick("sweep", i + 1, total)
        return results, backend
    if backend == "ray":
        return _run_ray(g, sweep, n, ray_address, tick), backend
    got: dict[int, dict[str, Any]] = {}
    import multiprocessing as mp

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else None)
    with ProcessPoolExecutor(max_workers=min(n, total), mp_context=ctx, initializer=_set_graph,
                             initargs=(g,)) as pool:
        futs = [pool.submit(_pool_task, i, c, sweep.unicast) for i, c in enumerate(sweep.configs)]
        for f in as_completed(futs):
            i, res = f.result()
            got[i] = res
            tick("sweep", len(got), total)
    return [got[i] for i in range(total)], backend


def _run_ray(g: InternetGraph, sweep: Sweep, n: int, address: Optional[str],
             tick: Progress) -> list[dict[str, Any]]:
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else n, log_to_driver=False,
                 include_dashboard=False)
    try:
        ref = ray.put(g)
        task = ray.remote(ray_task)
        pending = {task.remote(ref, c, sweep.unicast): i for i, c in enumerate(sweep.configs)}
        got: dict[int, dict[str, Any]] = {}
        waiting = list(pending)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            for d in done:
                got[pending[d]] = ray.get(d)
            tick("sweep", len(got), len(pending))
        return [got[i] for i in range(len(pending))]
    finally:
        if started:
            ray.shutdown()


def table_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per configuration: G, IPA (best P_k) and unicast-best percentiles."""
    rows = []
    for r in results:
        g = r["prefixes"].get("global", {})
        ipa, uni = r.get("ipa_best", {}), r.get("unicast_best", {})
        rows.append({"name": r["name"], "global_reached": g.get("reached_demand"),
                     "global_median_ms": g.get("rtt_ms", {}).get("median"),
                     "global_p90_ms": g.get("rtt_ms", {}).get("p90"),
                     "ipa_median_ms": ipa.get("rtt_ms", {}).get("median"),
                     "ipa_p90_ms": ipa.get("rtt_ms", {}).get("p90"),
                     "unicast_median_ms": uni.get("rtt_ms", {}).get("median"),
                     "unicast_p90_ms": uni.get("rtt_ms", {}).get("p90"),
                     "changes": json.dumps(r["changes"], separators=(",", ":")), "seconds": r["seconds"]})
    return rows


def write_sweep(sweep: Sweep, results: list[dict[str, Any]], meta: dict[str, Any], out: str | Path
                ) -> list[Path]:
    """sweep.json (everything) and sweep.csv (one row per configuration) in ``out``."""
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    doc = {"sweep": sweep.name, "description": sweep.description, "spec": str(sweep.path or ""),
           **meta, "results": results}
    (d / "sweep.json").write_text(json.dumps(doc, indent=2) + "\n")
    rows = table_rows(results)
    with open(d / "sweep.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return [d / "sweep.json", d / "sweep.csv"]
