"""Load YAML while keeping line numbers, so errors can point at a line.

PyYAML's plain loader forgets where a value came from; composing the node
tree once more lets us map a key path such as ``("ases", 3, "asn")`` back to
the line the user has to edit.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, Type

import yaml

from ..errors import InputError


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
        try:
            data = yaml.safe_load(text)
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(f"YAML syntax error: {problem}", file=p,
                             line=(mark.line + 1) if mark else None,
                             fix="fix the indentation or quoting on that line "
                                 "(YAML needs consistent spaces, no tabs)") from None
        if not isinstance(data, dict):
            raise InputError(f"{what} must be a YAML mapping (key: value) at the top",
                             file=p, fix="start the file with 'name: ...'")
        return cls(p, data, root)

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


def key_path(loc: Sequence[Any]) -> str:
    """Render a location tuple as ``ases[3].asn``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


GENERIC_FIXES = {
    "greater_than_equal": "use a value that is not negative / not below the minimum",
    "greater_than": "use a larger value",
    "less_than_equal": "use a smaller value",
    "literal_error": "use one of the allowed values",
}


def shape_error(src: YamlSource, exc: Any, cls: Type[InputError], fixes: dict[str, str],
                doc: str) -> InputError:
    """Turn the first pydantic validation error into a typed error with a line."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return cls(f"unknown key '{loc[-1]}'", file=src.path, key=key_path(loc),
                   line=src.line_of(loc) or src.line_of(loc[:-1]),
                   fix=f"remove it or check its spelling (see {doc} for the allowed keys)")
    if kind == "missing":
        return cls(f"required key '{loc[-1]}' is missing", file=src.path, key=key_path(loc),
                   line=src.line_of(loc[:-1]), fix=f"add '{loc[-1]}: ...' (see {doc})")
    fix = {**GENERIC_FIXES, **fixes}.get(kind, f"correct the value (see {doc})")
    return cls(err["msg"], file=src.path, key=key_path(loc), line=src.line_of(loc), fix=fix)
