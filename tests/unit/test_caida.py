"""The internet-scale model's input files: CAIDA serial-2 relationships (plain
and compressed), the AS-city CSV and the CDN spec, and the errors a person
gets for each kind of mistake (file, line, fix; several at once)."""
from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import numpy as np
import pytest

from anycastlab.errors import InputError
from anycastlab.sim.caida import MAX_ERRORS, read_cdn, read_presences, read_relationships
from anycastlab.sim.internet_build import load_internet

REL = """# source:topology|BGP
# a comment
1|2|-1
1|3|-1|bgp

2|3|0|mlp
3|4|-1
1|2|-1
"""
CITIES = """asn,city,lat,lon,population_m
1,fra,50.11,8.68,0.8
2,fra,50.11,8.68,0.8
3,ams,52.37,4.90,1.1
4,ams,52.37,4.90,1.1
4,lon,51.51,-0.13,9.0
"""
CDN = """asn: 64500
pops:
  - city: fra
    providers: [1]
  - city: lon
    lat: 51.51
    lon: -0.13
    providers: [1, 3]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_serial2_with_comments_sources_and_repeats(tmp_path: Path) -> None:
    r = read_relationships(write(tmp_path, "rel.txt", REL))
    assert sorted(map(tuple, r.p2c.tolist())) == [(1, 2), (1, 3), (3, 4)]
    assert r.p2p.tolist() == [[2, 3]]
    assert r.notes == ["1 repeated lines ignored"]


@pytest.mark.parametrize("opener,suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2")])
def test_compressed_files_read_the_same(tmp_path: Path, opener, suffix: str) -> None:
    for name, text in (("rel.txt", REL), ("cities.csv", CITIES)):
        with opener(tmp_path / (name + suffix), "wt") as f:
            f.write(text)
    plain = read_relationships(write(tmp_path, "rel.txt", REL))
    packed = read_relationships(tmp_path / ("rel.txt" + suffix))
    assert np.array_equal(plain.p2c, packed.p2c) and np.array_equal(plain.p2p, packed.p2p)
    pres = read_presences(tmp_path / ("cities.csv" + suffix))
    assert pres.city_ids == ["fra", "ams", "lon"] and pres.asn.tolist() == [1, 2, 3, 4, 4]


def test_every_bad_line_reported_with_file_line_and_fix(tmp_path: Path) -> None:
    text = "1|2|-1\n3|x|0\n4|4|0\n5|6|2\n7|8\n2|1|-1\n1|2|0\n9|10|-1|mlp\n"
    p = write(tmp_path, "rel.txt", text)
    with pytest.raises(InputError) as ei:
        read_relationships(p)
    errs = ei.value.errors
    assert [e.line for e in errs] == [2, 3, 4, 5, 6, 7]
    assert all(e.file == str(p) and e.fix for e in errs)
    msg = str(ei.value)
    assert "6 errors in" in msg and str(p) in msg
    assert "'x' is not an AS number" in msg
    assert "AS4 is its own neighbour" in msg
    assert "relationship '2'" in msg
    assert "2 fields, expected 3 or 4" in msg
    assert "AS1 and AS2 given again as AS2 provider of AS1; line 1 said AS1 provider of AS2" in msg
    assert "given again as peers" in msg


def test_many_errors_are_capped(tmp_path: Path) -> None:
    p = write(tmp_path, "rel.txt", "1|2|7\n" * (MAX_ERRORS + 10))
    with pytest.raises(InputError) as ei:
        read_relationships(p)
    assert len(ei.value.errors) == MAX_ERRORS + 1
    assert "and 10 more errors" in ei.value.errors[-1].message


def test_missing_empty_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_relationships(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="no relationship"):
        read_relationships(write(tmp_path, "empty.txt", "# nothing\n"))
    (tmp_path / "cut.gz").write_bytes(gzip.compress(REL.encode())[:30])
    with pytest.raises(InputError, match="cannot read"):
        read_relationships(tmp_path / "cut.gz")


def test_cities_errors(tmp_path: Path) -> None:
    bad = ("asn,city,lat,lon,population_m\n1,a,0,0,1\n2,a,0,1,1\n2,b,95,0,1\nx,b,0,0,1\n3,c,0,0\n"
           "1,a,0,0,1\n")
    with pytest.raises(InputError) as ei:
        read_presences(write(tmp_path, "c.csv", bad))
    by_line = {e.line: e.message for e in ei.value.errors}
    assert set(by_line) == {3, 4, 5, 6, 7}
    assert "line 2 put it at" in by_line[3]
    assert "lat '95'" in by_line[4] and "not an AS number" in by_line[5]
    assert "4 fields" in by_line[6] and "again (line 2)" in by_line[7]
    with pytest.raises(InputError, match="did you mean 'population_m'") as ei:
        read_presences(write(tmp_path, "h.csv", "asn,city,lat,lon,populaton_m\n"))
    assert ei.value.line == 1


def test_cdn_spec_shape_and_meaning(tmp_path: Path) -> None:
    spec = read_cdn(write(tmp_path, "cdn.yaml", CDN))
    assert spec.asn == 64500 and spec.providers() == [1, 3]
    assert [p.city for p in spec.pops] == ["fra", "lon"]
    with pytest.raises(InputError, match="unknown key 'provider'") as ei:
        read_cdn(write(tmp_path, "bad.yaml", "asn: 1\npops:\n  - city: fra\n    provider: [2]\n"))
    assert ei.value.line == 4
    twice = "asn: 9\npops:\n  - {city: fra, providers: [1, 1]}\n  - {city: fra, providers: [9]}\n"
    with pytest.raises(InputError) as ei:
        read_cdn(write(tmp_path, "twice.yaml", twice))
    msgs = [e.message for e in ei.value.errors]
    assert any("appears twice" in m for m in msgs) and any("own provider" in m for m in msgs)


def test_cross_file_checks(tmp_path: Path) -> None:
    rel, cities = write(tmp_path, "rel.txt", REL), write(tmp_path, "cities.csv", CITIES)
    g = load_internet(rel, cities, write(tmp_path, "cdn.yaml", CDN))
    assert g.pops == ["fra", "lon"] and g.providers == [1, 3]
    absent = CDN.replace("providers: [1, 3]", "providers: [1, 77]")
    with pytest.raises(InputError, match="provider AS77 of PoP 'lon' is not in the relationships") as ei:
        load_internet(rel, cities, write(tmp_path, "absent.yaml", absent))
    assert ei.value.file.endswith("absent.yaml") and ei.value.line == 8
    nowhere = CDN.replace("  - city: lon\n    lat: 51.51\n    lon: -0.13\n", "  - city: syd\n")
    with pytest.raises(InputError, match="'syd' is not in the AS cities file"):
        load_internet(rel, cities, write(tmp_path, "nowhere.yaml", nowhere))
    with pytest.raises(InputError, match="1 ASes of the relationships file have no city: AS4"):
        load_internet(rel, write(tmp_path, "c2.csv", CITIES.replace("4,ams", "5,ams").replace("4,lon", "5,lon")),
                      write(tmp_path, "cdn2.yaml", CDN))
