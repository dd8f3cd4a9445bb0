"""Validation that helps: every error of a file at once, and the nearest valid name."""
from __future__ import annotations

import pytest

from anycastlab import cli
from anycastlab.errors import InputError, TopologyError
from anycastlab.model.suggest import ErrorList, combine, did_you_mean, nearest
from anycastlab.model.topofile import load_topology

from conftest import TOPOLOGIES

TINY = (TOPOLOGIES / "tiny.yaml").read_text()


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def errors_of(write_topo, text: str) -> TopologyError:
    with pytest.raises(TopologyError) as info:
        load_topology(write_topo(text))
    err = info.value
    for e in err.errors:
        assert e.file and e.file.endswith(".yaml") and e.fix and e.key and e.line, str(e)
    return err


def several(text: str) -> str:
    """tiny.yaml with a misspelt key, an unknown city, an unknown AS and an unknown router."""
    return (text.replace("London, lat: 51.5072", "London, latitude: 51.5072")
            .replace("description:", "descripton:")
            .replace("role: client, cities: [nyc]}", "role: client, cities: [nyk]}")
            .replace("{provider: trb, customer: c2}", "{provider: trb, customer: c22}")
            .replace("[c2-lon, trb-lon]", "[c2-lon, trb-lom]"))


def test_several_errors_reported_at_once(write_topo):
    text = several(TINY)
    err = errors_of(write_topo, text)
    msgs = [e.message for e in err.errors]
    assert len(err.errors) == 5, str(err)
    assert msgs[0].startswith("unknown key 'descripton'")  # file order: the first line first
    assert any(m.startswith("unknown key 'latitude'") for m in msgs)
    assert "unknown city 'nyk' (did you mean 'nyc'?)" in msgs
    assert "unknown AS 'c22' (did you mean 'c2'?)" in msgs
    assert "unknown router 'trb-lom' (did you mean 'trb-lon'?)" in msgs
    # the raised error is the first one, with its own fields
    assert err is err.errors[0] and err.key == "descripton"
    assert err.line == line_of(text, "descripton")
    # and its text lists them all, each with line, key and fix
    out = str(err)
    assert out.startswith(f"5 errors in {err.file}:")
    city = next(e for e in err.errors if "nyk" in e.message)
    assert city.key == "ases[3].cities[0]" and city.line == line_of(text, "[nyk]")
    assert f"  line {city.line}, key ases[3].cities[0]: unknown city 'nyk'" in out
    assert out.count("    fix: ") == 5


def test_no_follow_on_noise(write_topo):
    # the link c1-nyc is right: only the AS's misspelt city is reported, not the link too
    err = errors_of(write_topo, TINY.replace("cities: [nyc]}", "cities: [nyk]}"))
    assert [e.key for e in err.errors] == ["ases[3].cities[0]"]
    # a broken city entry: no "unknown city 'lon'" for every AS that lists it
    err = errors_of(write_topo, TINY.replace("{id: lon, name: London", "{id: 1on, name: London"))
    assert [e.key for e in err.errors] == ["cities[1].id"]
    # a broken AS entry: its relationships and links are not reported as unknown
    err = errors_of(write_topo, TINY.replace("role: client, cities: [nyc]",
                                             "role: eyeball, cities: [nyc]"))
    assert [e.key for e in err.errors] == ["ases[3].role"]


def test_shape_errors_and_meaning_errors_together(write_topo):
    text = TINY.replace("[c1-nyc, tra-nyc]", "{a: c1-nyc, b: tra-nyc, latency_ms: -3}")
    text = text.replace("{provider: tra, customer: c1}", "{provider: trx, customer: c1}")
    err = errors_of(write_topo, text)
    assert [e.key for e in err.errors] == ["links[7].latency_ms", "relationships[3].provider"]
    assert "unknown AS 'trx' (did you mean 'tra' or 'trb'?)" in str(err)


def test_did_you_mean_unknown_key(write_topo):
    text = TINY.replace("London, lat: 51.5072", "London, latitude: 51.5072")
    err = errors_of(write_topo, text)
    # 'lat' missing is the echo of the misspelling: reported once, as the unknown key
    assert len(err.errors) == 1 and err.errors == [err]
    assert err.message == "unknown key 'latitude' (did you mean 'lat'?)"
    assert err.key == "cities[1].latitude" and err.line == line_of(text, "latitude")
    assert "rename it to 'lat'" in err.fix
    assert "errors in" not in str(err)  # one error prints as before


def test_did_you_mean_top_level_key(write_topo):
    err = errors_of(write_topo, TINY.replace("cities:\n", "citys:\n", 1))
    # the cities section is lost, so the references into it are not checked (noise)
    assert [e.message for e in err.errors] == ["unknown key 'citys' (did you mean 'cities'?)"]


def test_did_you_mean_unknown_city(write_topo):
    text = TINY.replace("role: client, cities: [lon]}", "role: client, cities: [lnd]}", 1)
    err = errors_of(write_topo, text)
    assert err.message == "unknown city 'lnd' (did you mean 'lon'?)"
    assert err.key == "ases[4].cities[0]" and "use one of: nyc, lon" in err.fix


def test_did_you_mean_role(write_topo):
    err = errors_of(write_topo, TINY.replace("role: client, cities: [nyc]",
                                             "role: clinet, cities: [nyc]"))
    assert err.message.endswith("(did you mean 'client'?)") and err.key == "ases[3].role"


def test_meaning_checks_report_every_client(write_topo):
    text = TINY
    for gone in ("  - {provider: tra, customer: c1}\n", "  - [c1-nyc, tra-nyc]\n",
                 "  - {provider: trb, customer: c2}\n", "  - [c2-lon, trb-lon]\n"):
        text = text.replace(gone, "")
    err = errors_of(write_topo, text)
    assert [e.message for e in err.errors] == ["client AS 'c1' has no provider",
                                               "client AS 'c2' has no provider"]


def test_cli_prints_all_errors(write_topo, capsys):
    path = write_topo(several(TINY))
    assert cli.main(["check", str(path)]) == 2
    out = capsys.readouterr().err
    assert "5 errors in" in out and "did you mean 'trb-lon'?" in out and "Traceback" not in out


def test_nearest_and_did_you_mean():
    assert did_you_mean("lnd", ["nyc", "lon"]) == " (did you mean 'lon'?)"
    assert did_you_mean("zzz", ["nyc", "lon"]) == ""
    assert did_you_mean("trx", ["cdn", "tra", "trb"]) == " (did you mean 'tra' or 'trb'?)"
    assert did_you_mean("lon", ["nyc", "lon"]) == ""  # valid: nothing to suggest
    assert did_you_mean("NYC", ["nyc"]) == " (did you mean 'nyc'?)"
    assert nearest("latitude", ["id", "name", "lat", "lon"]) == "lat"
    assert nearest("x", ["y", "z"]) is None and nearest("abc", []) is None


def test_error_list_and_combine(tmp_path):
    errs = ErrorList(None, InputError)
    errs.raise_if_any()  # nothing collected: no error
    errs.add("first", ("a",), "fix a")
    errs.add("second", ("b", 0), "fix b")
    with pytest.raises(InputError) as info:
        errs.raise_if_any()
    err = info.value
    assert err.message == "first" and err.key == "a" and len(err.errors) == 2
    assert str(err) == ("2 errors:\n  at 'a': first\n    fix: fix a\n"
                        "  at 'b[0]': second\n    fix: fix b")
    one = InputError("only", file=tmp_path / "x.yaml", line=3, fix="f")
    assert combine([one]) is one and str(one) == f"{tmp_path / 'x.yaml'}:3: only\n  fix: f"
