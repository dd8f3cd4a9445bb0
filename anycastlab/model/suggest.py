"""Validation that helps: suggest the nearest valid name, report every error.

A person fixing a file wants all of its mistakes in one go (netlab does the
same) and a hint when a name is merely misspelt. These helpers are shared by
the topology, scenario and event checks so every message reads alike.
"""
from __future__ import annotations

import difflib
from typing import Any, Iterable, Optional, Protocol, Sequence, Type

from ..errors import InputError


class Located(Protocol):
    """A loaded file that can tell the line of a key path (``YamlSource``)."""

    path: Any

    def line_of(self, loc: Sequence[Any]) -> Optional[int]: ...


def candidates(word: Any, choices: Iterable[Any], cutoff: float = 0.6) -> list[str]:
    """The valid names closest to ``word`` (several only on a tie), in ``choices`` order.

    Case is ignored so 'NYC' finds 'nyc'; a single name that starts the word
    (or that the word starts) wins, so 'latitude' finds 'lat'. A word of one
    or two letters only matches on case: anything is "close" to it otherwise.
    """
    by_lower = {str(c).lower(): str(c) for c in choices}
    low = str(word).lower()
    if low in by_lower:
        return [by_lower[low]]
    if len(low) < 3:
        return []
    prefixed = [n for k, n in by_lower.items()
                if len(k) >= 3 and (low.startswith(k) or k.startswith(low))]
    if len(prefixed) == 1:  # 'latitude' for 'lat', 'desc' for 'description'
        return prefixed
    score = {k: difflib.SequenceMatcher(None, low, k).ratio() for k in by_lower}
    top = max(score.values(), default=0.0)
    return [by_lower[k] for k, r in score.items() if r == top] if top >= cutoff else []


def nearest(word: Any, choices: Iterable[Any], cutoff: float = 0.6) -> Optional[str]:
    """The valid name closest to ``word`` (the first on a tie), or None when nothing is close."""
    found = candidates(word, choices, cutoff)
    return found[0] if found else None


def did_you_mean(word: Any, choices: Iterable[Any], cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` to append to a message, or "" if no name is close.

    A tie names up to three: " (did you mean 'tra' or 'trb'?)".
    """
    found = [f"'{c}'" for c in candidates(word, choices, cutoff) if c != str(word)][:3]
    if not found:
        return ""
    names = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " or " + found[-1]
    return f" (did you mean {names}?)"


def combine(errors: Sequence[InputError]) -> InputError:
    """One raisable error for several: the first keeps its fields (file, line,
    key, fix) for callers that look at one error; ``errors`` lists them all
    and ``str()`` prints them all."""
    if not errors:
        raise ValueError("combine() needs at least one error")
    first = errors[0]
    first.errors = list(errors)
    return first


class ErrorList:
    """Collects the errors of one file instead of stopping at the first.

    ``add`` records an error at a key path (the line is looked up in the
    YAML source); ``raise_if_any`` raises them together via ``combine``.
    """

    def __init__(self, src: Optional[Located], cls: Type[InputError] = InputError) -> None:
        self.src = src
        self.cls = cls
        self.errors: list[InputError] = []

    def add(self, message: str, loc: Sequence[Any], fix: str) -> InputError:
        """Record an error at ``loc`` (a key path tuple) and return it."""
        src = self.src
        err = self.cls(message, file=src.path if src else None, key=key_path(loc),
                       line=src.line_of(loc) if src else None, fix=fix)
        self.errors.append(err)
        return err

    def append(self, err: InputError) -> None:
        """Record an error built elsewhere (e.g. by ``shape_errors``)."""
        self.errors.append(err)

    def extend(self, errors: Iterable[InputError]) -> None:
        self.errors.extend(errors)

    def __len__(self) -> int:
        return len(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        """Raise every error collected so far as one (the first is the one typed)."""
        if self.errors:
            raise combine(self.errors)


def key_path(loc: Sequence[Any]) -> str:
    """Render a location tuple as ``ases[3].asn``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"
