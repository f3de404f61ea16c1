"""Safe SOQL building."""

from __future__ import annotations

from typing import Any

from . import _core

__all__ = ["format_soql"]


def format_soql(template: str, *args: Any, **kwargs: Any) -> str:
    """Fill ``{}`` (in order), ``{0}`` and ``{name}`` placeholders with SOQL literals.

    Strings are quoted and escaped, so user input stays a value and cannot change the query;
    dates and datetimes (in UTC) are written unquoted as SOQL wants them; lists, tuples and sets
    become ``(a, b, c)`` for ``IN``; ``None`` is ``null``. ``{{`` and ``}}`` are literal braces.

    >>> format_soql("SELECT Id FROM Account WHERE Name = {} AND Type IN {}", "O'Neil", ["A", "B"])
    "SELECT Id FROM Account WHERE Name = 'O\\\\'Neil' AND Type IN ('A', 'B')"
    """
    return _core.format_soql(template, args, kwargs)
