"""Safe SOQL and SOSL building."""

from __future__ import annotations

from typing import Any

from . import _core

__all__ = ["format_soql", "format_sosl"]


def format_soql(template: str, *args: Any, **kwargs: Any) -> str:
    """Fill ``{}`` (in order), ``{0}`` and ``{name}`` placeholders with SOQL literals.

    Strings are quoted and escaped, so user input stays a value and cannot change the query;
    dates and datetimes (in UTC) are written unquoted as SOQL wants them; lists, tuples and sets
    become ``(a, b, c)`` for ``IN``; ``None`` is ``null``. ``{{`` and ``}}`` are literal braces.

    >>> format_soql("SELECT Id FROM Account WHERE Name = {} AND Type IN {}", "O'Neil", ["A", "B"])
    "SELECT Id FROM Account WHERE Name = 'O\\\\'Neil' AND Type IN ('A', 'B')"
    """
    return _core.format_soql(template, args, kwargs)


def format_sosl(template: str, *args: Any, **kwargs: Any) -> str:
    """Fill a SOSL search's placeholders with search terms: SOSL's reserved characters
    (``? & | ! { } [ ] ( ) ^ ~ * : \\ " ' + -``) are escaped with a backslash, so user input is
    searched for as typed and cannot end the term or add operators. Numbers are written as
    they are. Write the ``FIND`` braces doubled:

    >>> format_sosl("FIND {{{}}} IN NAME FIELDS RETURNING Account(Id, Name)", "Acme & Co")
    'FIND {Acme \\\\& Co} IN NAME FIELDS RETURNING Account(Id, Name)'

    Build filters of the RETURNING clause with ``format_soql``."""
    return _core.format_sosl(template, args, kwargs)
