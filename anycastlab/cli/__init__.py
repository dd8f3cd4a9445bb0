"""The ``anycastlab`` command: one thin module per verb (parse, call the
library, print). The only place errors become exit codes.

May import anything; nothing imports it.
"""
from .main import main

__all__ = ["main"]
