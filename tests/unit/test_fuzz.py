"""Property-based fuzzing of the file loaders (Hypothesis): whatever a
topology or scenario file holds, loading it gives a model or a clean input
error (file, message, fix), never another exception and never a hang.

Two kinds of input: the shipped files with one part changed (a value
replaced, a key removed or misspelt, an entry duplicated), which reaches
deep into validation, and arbitrary YAML documents, which probe the shape
checks. Bounded: 120 examples per test (FUZZ_EXAMPLES=N for a longer
search; 1,500 each pass), each under a 2 s deadline. It found that an event
whose kind or city was a list crashed the scenario loader."""
from __future__ import annotations

import copy
import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anycastlab.errors import AnycastlabError
from anycastlab.model.scenario import load_scenario
from anycastlab.model.topofile import load_topology

from conftest import ROOT, TOPOLOGIES

TINY = yaml.safe_load((TOPOLOGIES / "tiny.yaml").read_text())
CUT = yaml.safe_load((ROOT / "scenarios" / "cable-cut.yaml").read_text())
CUT["topology"] = str(TOPOLOGIES / "world.yaml")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                    st.sampled_from(["nyc", "lon", "tra", "c1-nyc", "tra-nyc", "cut", "latency", "-1", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 120)), deadline=2000, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside a document."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict) -> Any:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        ps = [p for p in paths(doc) if p]
        if not ps:
            break
        path = draw(st.sampled_from(ps))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "rename", "duplicate"]))
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[str(key)[:-1] + draw(st.text(max_size=2))] = parent.pop(key)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return doc


def check(tmp_path, doc: Any, load) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "fuzz.yaml"
    f.write_text(yaml.safe_dump(doc, allow_unicode=True) if not isinstance(doc, str) else doc)
    try:
        load(f)
    except AnycastlabError as e:
        assert e.exit_code == 2 and str(e) and getattr(e, "fix", None), repr(e)


@FUZZ
@given(doc=mutated(TINY))
def test_mutated_topologies_load_or_fail_cleanly(tmp_path, doc):
    check(tmp_path, doc, load_topology)


@FUZZ
@given(doc=mutated(CUT))
def test_mutated_scenarios_load_or_fail_cleanly(tmp_path, doc):
    check(tmp_path, doc, lambda f: load_scenario(str(f)))


@FUZZ
@given(doc=values)
@pytest.mark.parametrize("load", [load_topology, lambda f: load_scenario(str(f))], ids=["topology", "scenario"])
def test_arbitrary_documents_fail_cleanly(tmp_path, doc, load):
    check(tmp_path, doc, load)
