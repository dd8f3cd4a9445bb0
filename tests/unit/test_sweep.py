"""What-if sweeps: the spec file (and its errors), what each configuration
announces, the process pool giving exactly the serial results, Ray when it
is installed, and the ``sweep`` verb end to end on small files."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from anycastlab.errors import InputError
from anycastlab.sim.internet_build import build_graph
from anycastlab.sim.internet_graph import InternetGraph
from anycastlab.sim.internet_synth import synthetic, write_files
from anycastlab.sim.sweep import Config, Sweep, evaluate, load_sweep, run_sweep, table_rows, write_sweep

SPEC = """name: what-if
unicast: true
configs:
  - name: no first pop
    drop_pops: [{p0}]
  - name: G from two
    global_pops: [{p0}, {p1}]
  - name: P_k from one
    provider_pops: {{{k0}: [{p1}]}}
  - name: buy more
    add_links: {{{p1}: [{k1}]}}
    drop_links: {{{p0}: [{k0}]}}
generate:
  drop_each_provider: true
  pop_subsets: {{size: 2, count: 3, seed: 7}}
"""


@pytest.fixture(scope="module")
def graph() -> InternetGraph:
    return build_graph(*synthetic(2_000, seed=4, n_cities=40, n_pops=5, n_providers=4))


def spec_file(tmp_path: Path, g: InternetGraph, text: str = SPEC) -> Path:
    p = tmp_path / "sweep.yaml"
    p.write_text(text.format(p0=g.pops[0], p1=g.pops[1], k0=g.providers[0], k1=g.providers[1]))
    return p


def strip(results: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in results]


def test_spec_expands_to_configurations(tmp_path: Path, graph: InternetGraph) -> None:
    sw = load_sweep(spec_file(tmp_path, graph), graph)
    names = [c.name for c in sw.configs]
    assert names[:5] == ["baseline", "no first pop", "G from two", "P_k from one", "buy more"]
    assert names[5:9] == [f"without AS{k}" for k in graph.providers]
    assert len(names) == 12 and names[9].startswith("subset 1: ") and sw.unicast
    again = load_sweep(spec_file(tmp_path, graph), graph)
    assert again.configs == sw.configs                      # seeded subsets


def test_configuration_changes_what_is_announced(graph: InternetGraph) -> None:
    p0, p1 = graph.pops[:2]
    k0, k1 = graph.providers[:2]
    links = Config("x", drop_pops=(p0,), add_links=((p1, (k1,)),)).links(graph)
    assert links[p0] == [] and k1 in links[p1]
    pre = Config("y", drop_providers=(k0,)).prefixes(graph, unicast=False)
    assert f"provider:{k0}" not in pre and all(k != k0 for _, k in pre["global"])
    pre = Config("z", provider_pops=((k0, (p1,)),)).prefixes(graph, unicast=False)
    assert {p for p, _ in pre[f"provider:{k0}"]} <= {p1}


def test_spec_errors_name_the_line_and_the_nearest_pop(tmp_path: Path, graph: InternetGraph) -> None:
    p0 = graph.pops[0]
    text = (f"configs:\n  - name: a\n    drop_pops: [{p0}x]\n  - name: b\n    drop_providers: [1]\n"
            f"  - name: a\n  - name: c\n    add_links: {{{p0}: [999999999]}}\n")
    with pytest.raises(InputError) as ei:
        load_sweep(spec_file(tmp_path, graph, text.replace("{", "{{").replace("}", "}}")), graph)
    errs = {e.line: e.message for e in ei.value.errors}
    assert f"no PoP '{p0}x' (did you mean '{p0}'?)" in errs[2]
    assert "AS1 is not a provider" in errs[4]
    assert "used twice" in errs[6]
    assert "999999999" in errs[7] and "not in the graph" in errs[7]
    with pytest.raises(InputError, match="unknown key 'drop_pop'"):
        load_sweep(spec_file(tmp_path, graph, "configs:\n  - name: a\n    drop_pop: [x]\n"), graph)


def test_pool_gives_the_serial_results(tmp_path: Path, graph: InternetGraph) -> None:
    sw = load_sweep(spec_file(tmp_path, graph), graph)
    serial, how = run_sweep(graph, sw, workers=1)
    assert how == "serial"
    seen: list[tuple[int, int]] = []
    pooled, how = run_sweep(graph, sw, workers=2, backend="pool",
                            progress=lambda step, done, total: seen.append((done, total)))
    assert how == "pool" and seen[-1] == (12, 12)
    assert strip(pooled) == strip(serial)
    base, no_pop = serial[0], serial[1]
    assert base["name"] == "baseline" and base["changes"] == {}
    assert graph.pops[0] not in no_pop["prefixes"]["global"]["pops"]
    assert base["prefixes"]["global"]["reached_demand"] == 1.0
    assert base["ipa_best"]["rtt_ms"]["median"] <= base["prefixes"]["global"]["rtt_ms"]["median"]
    assert base["unicast_best"]["rtt_ms"]["median"] is not None


def test_ray_backend(tmp_path: Path, graph: InternetGraph) -> None:
    pytest.importorskip("ray")
    sw = Sweep("r", [Config("baseline"), Config("no first", drop_pops=(graph.pops[0],))])
    got, how = run_sweep(graph, sw, workers=2, backend="ray")
    assert how == "ray"
    assert strip(got) == strip([evaluate(graph, c) for c in sw.configs])


def test_ray_asked_for_but_missing(graph: InternetGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    import anycastlab.sim.sweep as sweep_mod

    monkeypatch.setattr(sweep_mod, "ray_available", lambda: False)
    with pytest.raises(InputError, match="Ray is not installed"):
        run_sweep(graph, Sweep("r", [Config("baseline")]), ray_address="auto")
    _, how = run_sweep(graph, Sweep("r", [Config("a"), Config("b")]), workers=2)
    assert how == "pool"


def test_outputs_and_the_cli_verb(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from anycastlab.cli import sweep as verb

    rel, cities, cdn = write_files(tmp_path / "in", *synthetic(1_500, seed=9, n_cities=30, n_pops=4,
                                                                n_providers=3))
    spec = tmp_path / "s.yaml"
    spec.write_text("name: cli\ngenerate:\n  drop_each_pop: true\n")
    p = argparse.ArgumentParser()
    verb.add_parser(p.add_subparsers())
    args = p.parse_args(["sweep", "--relationships", str(rel), "--cities", str(cities), "--cdn", str(cdn),
                         "--spec", str(spec), "--workers", "1", "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    doc = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert doc["backend"] == "serial" and len(doc["results"]) == 5
    csv_lines = (tmp_path / "out" / "sweep.csv").read_text().splitlines()
    assert csv_lines[0].startswith("name,global_reached,global_median_ms") and len(csv_lines) == 6
    assert "sweep cli" in capsys.readouterr().out


def test_table_rows_and_write(tmp_path: Path, graph: InternetGraph) -> None:
    sw = Sweep("t", [Config("baseline")])
    res = [evaluate(graph, c) for c in sw.configs]
    row = table_rows(res)[0]
    assert row["name"] == "baseline" and row["global_median_ms"] is not None and row["unicast_median_ms"] is None
    paths = write_sweep(sw, res, {"backend": "serial"}, tmp_path)
    assert [x.name for x in paths] == ["sweep.json", "sweep.csv"]
