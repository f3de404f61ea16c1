"""Async classes mirror their blocking twins method for method (httpx's way); their
documentation is written once, on the blocking class, and shared here."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TypeVar

T = TypeVar("T", bound=type)


def async_twin_of(blocking: type) -> Callable[[T], T]:
    """Class decorator: the class's public members without a docstring take their blocking
    twin's, and the class says whose twin it is."""

    def share(cls: T) -> T:
        if not cls.__doc__:
            cls.__doc__ = f"The async twin of ``{blocking.__name__}``: the same methods, awaited."
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            twin = getattr(blocking, name, None)
            if twin is None or not twin.__doc__:
                continue
            target = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
            if isinstance(target, property):
                if not target.__doc__:
                    setattr(cls, name, property(target.fget, target.fset, target.fdel, twin.__doc__))
            elif (callable(target) or isinstance(target, cached_property)) and not target.__doc__:
                target.__doc__ = twin.__doc__
        return cls

    return share
