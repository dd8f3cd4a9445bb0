"""The three input files of the internet-scale model, read with errors that
name file, line and fix (docs/simulation.md "File formats"):

- AS relationships in CAIDA's serial-2 format: ``<provider>|<customer>|-1``
  and ``<peer>|<peer>|0``, an optional 4th field ``|<source>``, ``#``
  comments, blank lines; plain, ``.gz`` or ``.bz2`` (found by magic bytes).
- AS presences: CSV ``asn,city,lat,lon,population_m``, one row per AS-city.
- The CDN: YAML ``asn``, ``pops: [{city, lat, lon, providers: [asn, ...]}]``
  and optionally the latency ``settings`` of a topology file.

A file with many mistakes reports up to MAX_ERRORS of them at once.
"""
from __future__ import annotations

import bz2
import csv
import gzip
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Optional

import numpy as np
from pydantic import Field, ValidationError

from ..errors import InputError
from ..model.suggest import ErrorList, did_you_mean
from ..model.topology import Settings, StrictModel
from ..model.yamlsource import YamlSource, shape_error

MAX_ERRORS = 20           # per file: enough to see a pattern, not a flood
MAX_ASN = 4294967295
CITY_COLUMNS = ("asn", "city", "lat", "lon", "population_m")
COORD_TOLERANCE = 0.01    # degrees: the same city id must sit in one place
DOC = "docs/simulation.md"


@dataclass
class Relationships:
    """Provider-customer and peer links as ASN pairs (int64 arrays, shape (n, 2))."""

    p2c: np.ndarray
    p2p: np.ndarray
    path: Optional[Path] = None
    notes: list[str] = field(default_factory=list)

    def asns(self) -> np.ndarray:
        return np.unique(np.concatenate([self.p2c.ravel(), self.p2p.ravel()]))


@dataclass
class Presences:
    """Where each AS is: one entry per AS-city (``city`` indexes ``city_ids``)."""

    asn: np.ndarray            # int64 [n]
    city: np.ndarray           # int32 [n]
    population_m: np.ndarray   # float64 [n]: the demand weight of this AS in this city
    city_ids: list[str]
    lat: np.ndarray            # float64 [cities]
    lon: np.ndarray
    path: Optional[Path] = None


@dataclass(frozen=True)
class Pop:
    city: str
    lat: Optional[float]
    lon: Optional[float]
    providers: tuple[int, ...]


@dataclass
class CdnSpec:
    asn: int
    pops: list[Pop]
    settings: Settings = field(default_factory=Settings)
    path: Optional[Path] = None
    src: Optional[YamlSource] = None   # for the line of a pop in later checks

    def providers(self) -> list[int]:
        """The CDN's providers, in order of first appearance (k = 1, 2, ...)."""
        seen: dict[int, None] = {}
        for p in self.pops:
            seen.update(dict.fromkeys(p.providers))
        return list(seen)

    def line_of_pop(self, i: int) -> Optional[int]:
        return self.src.line_of(("pops", i, "providers")) if self.src else None


def open_text(path: str | Path, what: str) -> IO[str]:
    """A text stream of a plain, gzip or bzip2 file (by its first bytes, not its name)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} file not found" if not p.exists() else f"{what} path is not a file",
                         file=p, fix="check the path")
    with open(p, "rb") as f:
        head = f.read(3)
    if head[:2] == b"\x1f\x8b":
        return gzip.open(p, "rt", encoding="utf-8", newline="")
    if head == b"BZh":
        return bz2.open(p, "rt", encoding="utf-8", newline="")
    return open(p, "r", encoding="utf-8", newline="")


class Collector:
    """Line errors of one file, at most MAX_ERRORS, then one line saying how many more."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errs = ErrorList(None)
        self.more = 0

    def add(self, line: Optional[int], message: str, fix: str, key: Optional[str] = None) -> None:
        if len(self.errs) >= MAX_ERRORS:
            self.more += 1
            return
        self.errs.append(InputError(message, file=self.path, line=line, key=key, fix=fix))

    def raise_if_any(self) -> None:
        self.errs.errors.sort(key=lambda e: e.line or 0)   # file order, whichever check found it
        if self.more:
            self.errs.append(InputError(f"... and {self.more} more errors like these", file=self.path,
                                        fix="fix the ones above first; the rest are probably alike"))
        self.errs.raise_if_any()


def _read(path: str | Path, what: str) -> tuple[Path, IO[str]]:
    try:
        return Path(path), open_text(path, what)
    except OSError as exc:
        raise InputError(f"cannot read the {what} file: {exc.strerror}", file=path,
                         fix="check the file's permissions") from None


def _lines(f: IO[str], path: Path, what: str):  # type: ignore[no-untyped-def]
    """Lines of a text stream; a broken archive or bad bytes become an InputError."""
    try:
        yield from f
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what} file: {exc}", file=path,
                         fix="is it truncated? decompress it by hand to check") from None


def _asn(text: str) -> Optional[int]:
    """An ASN (1 to 2^32-1) or None; 'AS3356' is accepted, as CAIDA's own tools do not write it."""
    t = text.strip()
    if t[:2].upper() == "AS":
        t = t[2:]
    if not t.isdigit():
        return None
    v = int(t)
    return v if 0 < v <= MAX_ASN else None


def read_relationships(path: str | Path) -> Relationships:
    """Parse a serial-2 file; raise every line error at once (up to MAX_ERRORS)."""
    p, f = _read(path, "AS relationships")
    errs = Collector(p)
    a_l: list[int] = []
    b_l: list[int] = []
    r_l: list[int] = []
    ln_l: list[int] = []
    fix_fields = "write '<provider-as>|<customer-as>|-1' or '<peer-as>|<peer-as>|0' (CAIDA serial-2)"
    with f:
        for n, raw in enumerate(_lines(f, p, "AS relationships"), start=1):
            s = raw.strip()
            if not s or s[0] == "#":
                continue
            parts = s.split("|")
            if len(parts) not in (3, 4):
                errs.add(n, f"{len(parts)} fields, expected 3 or 4 separated by '|'", fix_fields)
                continue
            a, b = _asn(parts[0]), _asn(parts[1])
            if a is None or b is None:
                bad = parts[0] if a is None else parts[1]
                errs.add(n, f"'{bad.strip()}' is not an AS number (1 to {MAX_ASN})", fix_fields)
                continue
            rel = parts[2].strip()
            if rel not in ("-1", "0"):
                errs.add(n, f"relationship '{rel}' is neither -1 (provider|customer) nor 0 (peer|peer)",
                         "use -1 or 0; serial-2 has no other value (sibling links: write them as peers)")
                continue
            if a == b:
                errs.add(n, f"AS{a} is its own neighbour", "remove the line")
                continue
            a_l.append(a)
            b_l.append(b)
            r_l.append(int(rel))
            ln_l.append(n)
    a_arr, b_arr = np.array(a_l, dtype=np.int64), np.array(b_l, dtype=np.int64)
    rel_arr, lines = np.array(r_l, dtype=np.int8), np.array(ln_l, dtype=np.int64)
    keep = _check_pairs(a_arr, b_arr, rel_arr, lines, errs)
    errs.raise_if_any()
    if not keep.any():
        raise InputError("no relationship in the file", file=p, fix=fix_fields)
    a_arr, b_arr, rel_arr = a_arr[keep], b_arr[keep], rel_arr[keep]
    dupes = int(len(keep) - keep.sum())
    notes = [f"{dupes} repeated lines ignored"] if dupes else []
    pc = rel_arr == -1
    return Relationships(np.stack([a_arr[pc], b_arr[pc]], axis=1), np.stack([a_arr[~pc], b_arr[~pc]], axis=1),
                         p, notes)


def _check_pairs(a: np.ndarray, b: np.ndarray, rel: np.ndarray, lines: np.ndarray, errs: Collector
                 ) -> np.ndarray:
    """Each AS pair once: a repeat with the same meaning is dropped, one with
    another meaning (peer vs provider, or provider both ways) is an error.
    Returns the mask of lines to keep."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    # 0: peers; 1: the lower ASN is the provider; 2: the higher one is
    code = np.where(rel == 0, 0, np.where(a == lo, 1, 2)).astype(np.int8)
    order = np.lexsort((lines, hi, lo))
    same = np.zeros(len(a), dtype=bool)
    same[1:] = (lo[order][1:] == lo[order][:-1]) & (hi[order][1:] == hi[order][:-1])
    keep = np.ones(len(a), dtype=bool)
    keep[order[same]] = False
    meaning = {0: "peers", 1: "AS{lo} provider of AS{hi}", 2: "AS{hi} provider of AS{lo}"}
    for i in np.flatnonzero(same):
        j = i - 1
        while same[j]:   # the first line of the pair
            j -= 1
        first, this = order[j], order[i]
        if code[first] != code[this]:
            l_, h_ = int(lo[this]), int(hi[this])
            errs.add(int(lines[this]), f"AS{l_} and AS{h_} given again as "
                     f"{meaning[int(code[this])].format(lo=l_, hi=h_)}; line {int(lines[first])} said "
                     f"{meaning[int(code[first])].format(lo=l_, hi=h_)}",
                     "keep one line per AS pair")
    return keep


def read_presences(path: str | Path) -> Presences:
    """Parse the AS-city CSV; raise every row error at once (up to MAX_ERRORS)."""
    p, f = _read(path, "AS cities")
    errs = Collector(p)
    fix_row = f"each row is {','.join(CITY_COLUMNS)} (see {DOC})"
    with f:
        rows = csv.reader(_lines(f, p, "AS cities"))
        try:
            header = [h.strip() for h in next(rows)]
        except StopIteration:
            raise InputError("the AS cities file is empty", file=p, fix=f"start it with the header "
                             f"'{','.join(CITY_COLUMNS)}'") from None
        except csv.Error as exc:
            raise InputError(f"not a CSV file: {exc}", file=p, line=1, fix=fix_row) from None
        missing = [c for c in CITY_COLUMNS if c not in header]
        unknown = [h for h in header if h not in CITY_COLUMNS]
        if missing or unknown or len(set(header)) != len(header):
            what = "; ".join(x for x in (f"missing column(s) {', '.join(missing)}" if missing else "",
                                         "unknown column(s) " + ", ".join(
                                             f"'{u}'{did_you_mean(u, missing)}" for u in unknown)
                                         if unknown else "") if x) or "a column appears twice"
            raise InputError(f"header: {what}", file=p, line=1,
                             fix=f"the header is '{','.join(CITY_COLUMNS)}'")
        col = {c: header.index(c) for c in CITY_COLUMNS}
        asn_l: list[int] = []
        city_l: list[int] = []
        pop_l: list[float] = []
        cities: dict[str, int] = {}
        where: list[tuple[float, float, int]] = []   # per city: lat, lon, first line
        seen: dict[tuple[int, int], int] = {}
        try:
            for row in rows:
                n = rows.line_num
                if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
                    continue
                got = _row(row, col, n, errs, fix_row)
                if got is None:
                    continue
                asn, cid, lat, lon, pop = got
                ci = cities.get(cid)
                if ci is None:
                    ci = cities[cid] = len(cities)
                    where.append((lat, lon, n))
                else:
                    la, lo, first = where[ci]
                    if abs(la - lat) > COORD_TOLERANCE or abs(lo - lon) > COORD_TOLERANCE:
                        errs.add(n, f"city '{cid}' at {lat}, {lon}; line {first} put it at {la}, {lo}",
                                 "give every row of a city the same lat, lon (or use another city id)")
                        continue
                if (asn, ci) in seen:
                    errs.add(n, f"AS{asn} in '{cid}' again (line {seen[(asn, ci)]})", "keep one row")
                    continue
                seen[(asn, ci)] = n
                asn_l.append(asn)
                city_l.append(ci)
                pop_l.append(pop)
        except csv.Error as exc:
            errs.add(rows.line_num, f"broken CSV: {exc}", fix_row)
    errs.raise_if_any()
    if not asn_l:
        raise InputError("no AS-city row in the file", file=p, fix=fix_row)
    ll = np.array([w[:2] for w in where], dtype=np.float64)
    return Presences(np.array(asn_l, dtype=np.int64), np.array(city_l, dtype=np.int32),
                     np.array(pop_l, dtype=np.float64), list(cities), ll[:, 0].copy(), ll[:, 1].copy(), p)


def _row(row: list[str], col: dict[str, int], n: int, errs: Collector, fix_row: str
         ) -> Optional[tuple[int, str, float, float, float]]:
    """One CSV row checked, or None (the error recorded)."""
    if len(row) != len(col):
        errs.add(n, f"{len(row)} fields, expected {len(col)}", fix_row)
        return None
    asn = _asn(row[col["asn"]])
    if asn is None:
        errs.add(n, f"'{row[col['asn']].strip()}' is not an AS number", fix_row, key="asn")
        return None
    cid = row[col["city"]].strip()
    if not cid or len(cid) > 40 or any(ch.isspace() or ch in "\"'|" for ch in cid):
        errs.add(n, f"city id '{cid}' is empty, too long or has spaces or quotes",
                 "use a short id such as 'fra' or 'new-york'", key="city")
        return None
    vals = []
    for name, lo, hi in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0), ("population_m", 0.0, 1e4)):
        text = row[col[name]].strip()
        if name == "population_m" and text == "":
            vals.append(0.0)
            continue
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and lo <= v <= hi):
            errs.add(n, f"{name} '{text}' is not a number from {lo:g} to {hi:g}", fix_row, key=name)
            return None
        vals.append(v)
    return asn, cid, vals[0], vals[1], vals[2]


class PopFile(StrictModel):
    city: str = Field(min_length=1, max_length=40, pattern=r"^[^\s\"'|,]+$")
    lat: Optional[float] = Field(None, ge=-90, le=90)
    lon: Optional[float] = Field(None, ge=-180, le=180)
    providers: list[int] = Field(min_length=1)


class CdnFile(StrictModel):
    asn: int = Field(ge=1, le=MAX_ASN)
    name: str = ""
    pops: list[PopFile] = Field(min_length=1)
    settings: Settings = Settings()


def read_cdn(path: str | Path) -> CdnSpec:
    """Parse and check the CDN spec (shape, repeated PoPs and providers)."""
    src = YamlSource.load(path, "CDN spec")
    try:
        spec = CdnFile.model_validate(src.data)
    except ValidationError as exc:
        raise shape_error(src, exc, InputError, {}, DOC, CdnFile) from None
    errs = ErrorList(src)
    seen: dict[str, int] = {}
    for i, pop in enumerate(spec.pops):
        if pop.city in seen:
            errs.add(f"PoP '{pop.city}' appears twice (pops[{seen[pop.city]}])", ("pops", i, "city"),
                     "one entry per PoP city; list all its providers there")
        seen.setdefault(pop.city, i)
        if len(set(pop.providers)) != len(pop.providers):
            errs.add(f"a provider appears twice at PoP '{pop.city}'", ("pops", i, "providers"),
                     "list each provider once")
        if spec.asn in pop.providers:
            errs.add(f"the CDN (AS{spec.asn}) is listed as its own provider", ("pops", i, "providers"),
                     "remove it")
        if (pop.lat is None) != (pop.lon is None):
            errs.add("give both lat and lon, or neither (then the AS cities file places the city)",
                     ("pops", i), "add the missing coordinate")
    errs.raise_if_any()
    pops = [Pop(p.city, p.lat, p.lon, tuple(p.providers)) for p in spec.pops]
    return CdnSpec(spec.asn, pops, spec.settings, src.path, src)


def write_relationships(rels: Relationships, out: IO[str]) -> None:
    """Write serial-2 (used by tests and the benchmark; the generator writes its own)."""
    buf = io.StringIO()
    buf.write("# anycastlab: AS relationships, CAIDA serial-2\n")
    np.savetxt(buf, rels.p2c, fmt="%d|%d|-1")
    np.savetxt(buf, rels.p2p, fmt="%d|%d|0")
    out.write(buf.getvalue())


def write_presences(pres: Presences, out: IO[str]) -> None:
    """Write the AS-city CSV."""
    out.write(",".join(CITY_COLUMNS) + "\n")
    for a, c, pm in zip(pres.asn.tolist(), pres.city.tolist(), pres.population_m.tolist()):
        out.write(f"{a},{pres.city_ids[c]},{pres.lat[c]:.4f},{pres.lon[c]:.4f},{pm:.6g}\n")
