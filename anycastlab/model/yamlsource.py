"""Load YAML while keeping line numbers, so errors can point at a line.

PyYAML's plain loader forgets where a value came from; composing the node
tree once more lets us map a key path such as ``("ases", 3, "asn")`` back to
the line the user has to edit.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Type, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import InputError
from .suggest import combine, did_you_mean, key_path, nearest

M = TypeVar("M", bound=BaseModel)


_LAST: dict[tuple[str, int], tuple[Any, Any]] = {}  # the last file parsed: (data, node tree)


class YamlSource:
    """A parsed YAML document plus its node tree for line look-ups."""

    def __init__(self, path: Path, data: Any, root: yaml.Node | None) -> None:
        self.path = path
        self.data = data
        self.root = root

    @classmethod
    def load(cls, path: str | Path, what: str = "file") -> "YamlSource":
        p = Path(path)
        if not p.exists():
            raise InputError(f"{what} not found", file=p,
                             fix=f"check the path; {what} files usually live in "
                                 f"'{'topologies' if what == 'topology' else 'scenarios'}/'")
        if p.is_dir():
            raise InputError(f"{what} path is a directory", file=p,
                             fix="give the path of a .yaml file")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not a UTF-8 text file ({exc.reason} at byte {exc.start})", file=p,
                             fix="save the file as UTF-8 text") from None
        except OSError as exc:
            raise InputError(f"cannot read the {what} file: {exc.strerror}", file=p,
                             fix="check the file's permissions") from None
        key = (str(p.resolve()), hash(text))
        if key in _LAST:  # one parse per command: 'check' sniffs a file's kind, then loads it
            data, root = _LAST[key]
            return cls(p, copy.deepcopy(data), root)
        if len(text) > MAX_BYTES:
            raise InputError(f"{what} file is {len(text) / 1e6:.1f} MB; anycastlab reads at most "
                             f"{MAX_BYTES // 1_000_000} MB", file=p,
                             fix=f"is this really a {what}? split it or remove what it does not need")
        try:
            loader = yaml.SafeLoader(text)
            try:
                root = loader.get_single_node()  # parsed once; the data is built from this tree
                if root is not None:
                    check_tree(p, root)
                data = loader.construct_document(root) if root is not None else None
            finally:
                loader.dispose()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(f"YAML syntax error: {problem}", file=p,
                             line=(mark.line + 1) if mark else None,
                             fix="fix the indentation or quoting on that line "
                                 "(YAML needs consistent spaces, no tabs)") from None
        except RecursionError:
            raise too_deep(p, None) from None
        if not isinstance(data, dict):
            raise InputError(f"{what} must be a YAML mapping (key: value) at the top",
                             file=p, fix="start the file with 'name: ...'")
        src = cls(p, data, root)
        src.check_numbers()
        _LAST.clear()
        _LAST[key] = (copy.deepcopy(data), root)
        return src

    def check_numbers(self, cls: Type[InputError] = InputError) -> None:
        """Refuse infinite and NaN numbers anywhere in the file: no field of a
        topology or scenario means anything with them, and JSON cannot carry them."""
        stack: list[tuple[tuple[Any, ...], Any]] = [((), self.data)]
        while stack:
            loc, v = stack.pop()
            if isinstance(v, float) and not math.isfinite(v):
                raise cls(f"{v} is not a finite number", file=self.path, key=key_path(loc) or None,
                          line=self.line_of(loc), fix="give a finite number (.inf and .nan mean nothing here)")
            if isinstance(v, dict):
                stack.extend(((*loc, k), x) for k, x in v.items())
            elif isinstance(v, list):
                stack.extend(((*loc, i), x) for i, x in enumerate(v))

    def line_of(self, loc: Sequence[Any]) -> int | None:
        """1-based line of the deepest node along ``loc`` that exists."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                nxt = None
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        nxt = v
                        line = k.start_mark.line + 1
                        break
                if nxt is None:
                    return line
                node = nxt
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return line
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line


MAX_BYTES = 4_000_000   # world.yaml is 30 kB
MAX_DEPTH = 40          # world.yaml nests 5 levels deep


def too_deep(path: Path, line: Optional[int]) -> InputError:
    """The one message for a file nested beyond MAX_DEPTH (found by the walk or by Python's stack)."""
    return InputError(f"YAML nested more than {MAX_DEPTH} levels deep", file=path, line=line,
                      fix="a topology or scenario needs only a few levels: check the brackets")
MAX_NODES = 200_000     # counting every alias expansion: an alias bomb stops here


def check_tree(path: Path, root: yaml.Node) -> None:
    """One walk over the node tree, before anything is built from it: duplicate
    keys (YAML would keep the last one silently), nesting depth, and the node
    count with aliases expanded (a few lines of aliases can stand for billions)."""
    seen = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise InputError(f"the file expands to more than {MAX_NODES} values (aliases '*name' "
                             "repeated inside each other?)", file=path, line=node.start_mark.line + 1,
                             fix="write the values out, or use fewer nested aliases")
        if depth > MAX_DEPTH:
            raise too_deep(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            keys: dict[str, int] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    line = k.start_mark.line + 1
                    if k.value in keys:
                        raise InputError(f"key '{k.value}' appears twice in the same mapping "
                                         f"(lines {keys[k.value]} and {line}); YAML would silently "
                                         "keep the last one", file=path, key=k.value, line=line,
                                         fix="keep one of them")
                    keys[k.value] = line
                stack.append((k, depth + 1))
                stack.append((v, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((x, depth + 1) for x in node.value)


GENERIC_FIXES = {
    "greater_than_equal": "use a value that is not negative / not below the minimum",
    "greater_than": "use a larger value",
    "less_than_equal": "use a smaller value",
    "literal_error": "use one of the allowed values",
}


def model_at(model: Type[BaseModel], loc: Sequence[Any]) -> Optional[Type[BaseModel]]:
    """The pydantic model that validates the object at ``loc``, if any (for key suggestions)."""
    cur: Optional[Type[BaseModel]] = model
    for part in loc:
        if isinstance(part, int):
            continue  # list index: the item's model is found from the list's annotation
        if cur is None or part not in cur.model_fields:
            return None
        cur = _model_in(cur.model_fields[part].annotation)
    return cur


def _model_in(ann: Any) -> Optional[Type[BaseModel]]:
    """First BaseModel inside an annotation such as Optional[list[X]]."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in get_args(ann):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def shape_errors(src: YamlSource, exc: ValidationError, cls: Type[InputError],
                 fixes: dict[str, str], doc: str,
                 model: Optional[Type[BaseModel]] = None) -> list[InputError]:
    """Every pydantic validation error as a typed error with a line, in file order.

    With ``model`` an unknown key gets the nearest allowed key as a
    suggestion, and "required key 'lat' is missing" is left out when it is
    only the echo of a misspelt 'latitude' in the same entry.
    """
    raw = exc.errors()
    best: dict[tuple, Optional[str]] = {}  # loc of an unknown key -> the allowed key it resembles
    for err in raw:
        if err["type"] == "extra_forbidden" and model is not None:
            loc = tuple(err["loc"])
            sub = model_at(model, loc[:-1])
            best[loc] = nearest(loc[-1], sub.model_fields if sub is not None else [])
    echoed = {loc[:-1] + (b,) for loc, b in best.items() if b is not None}
    out = []
    for err in raw:
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            b = best.get(loc)
            out.append(cls(f"unknown key '{loc[-1]}'" + (f" (did you mean '{b}'?)" if b else ""),
                           file=src.path, key=key_path(loc),
                           line=src.line_of(loc) or src.line_of(loc[:-1]),
                           fix=(f"rename it to '{b}'" if b else "remove it or check its spelling")
                           + f" (see {doc} for the allowed keys)"))
        elif kind == "missing":
            if loc not in echoed:
                out.append(cls(f"required key '{loc[-1]}' is missing", file=src.path,
                               key=key_path(loc), line=src.line_of(loc[:-1]),
                               fix=f"add '{loc[-1]}: ...' (see {doc})"))
        else:
            msg = err["msg"]
            if kind == "literal_error" and isinstance(err.get("input"), str):
                allowed = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
                msg += did_you_mean(err["input"], allowed)
            fix = {**GENERIC_FIXES, **fixes}.get(kind, f"correct the value (see {doc})")
            out.append(cls(msg, file=src.path, key=key_path(loc), line=src.line_of(loc), fix=fix))
    return sorted(out, key=lambda e: e.line or 0)  # file order, not the model's field order


def shape_error(src: YamlSource, exc: ValidationError, cls: Type[InputError],
                fixes: dict[str, str], doc: str,
                model: Optional[Type[BaseModel]] = None) -> InputError:
    """All pydantic validation errors as one raisable error (the first one typed)."""
    return combine(shape_errors(src, exc, cls, fixes, doc, model))


@dataclass
class Salvage:
    """What failed the shape check, so later checks skip references to it:
    "unknown city 'lon'" is noise when the entry defining 'lon' is broken."""

    sections: set[str] = field(default_factory=set)  # parts whose names are not all known
    ids: set[str] = field(default_factory=set)  # 'id' of list entries that failed

    @property
    def failed(self) -> bool:
        return bool(self.sections or self.ids)

    def unsure(self, name: str, section: str) -> bool:
        """True if ``name`` may be defined by a broken part of ``section``."""
        return section in self.sections or name in self.ids


def salvage(model: Type[M], data: dict[str, Any], exc: ValidationError) -> tuple[M, Salvage]:
    """Keep the parts of ``data`` that passed the shape check, so meaning checks
    can still run on them and report more errors in the same pass.

    List entries that failed become None (indices, hence key paths and
    lines, stay right); other fields that failed take their default.
    """
    bad = [tuple(e["loc"]) for e in exc.errors()]
    lost = Salvage()
    out = model.model_construct()
    check = model.__pydantic_validator__.validate_assignment  # runs the field's validators too
    for name, f in model.model_fields.items():
        errs = [loc for loc in bad if loc and loc[0] == name]
        raw = data.get(name)
        is_list = get_origin(f.annotation) is list
        if errs and is_list and isinstance(raw, list) and all(len(loc) > 1 for loc in errs):
            broken = {loc[1] for loc in errs}
            for i in broken:
                xid = raw[i].get("id") if isinstance(raw[i], dict) else None
                if isinstance(xid, str) and (name, i, "id") not in bad:
                    lost.ids.add(xid)
                else:
                    lost.sections.add(name)
            try:
                check(out, name, [x for i, x in enumerate(raw) if i not in broken])
            except ValidationError:  # e.g. too few entries left
                lost.sections.add(name)
                setattr(out, name, [])
                continue
            good = iter(getattr(out, name))
            setattr(out, name, [None if i in broken else next(good) for i in range(len(raw))])
        elif errs:
            lost.sections.add(name)
            setattr(out, name, [] if is_list else (
                None if f.is_required() else f.get_default(call_default_factory=True)))
        elif name in data:
            check(out, name, raw)
    return out, lost
