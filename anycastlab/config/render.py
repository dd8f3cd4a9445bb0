"""One jinja2 environment for every daemon's template.

StrictUndefined turns a missing context key into an error instead of an
empty string in a config file.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
SPEAKER_TEMPLATES = Path(__file__).resolve().parents[2] / "speakers"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(PACKAGE_TEMPLATES), str(SPEAKER_TEMPLATES)]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_template(name: str, context: dict[str, Any]) -> str:
    return environment().get_template(name).render(**context)
