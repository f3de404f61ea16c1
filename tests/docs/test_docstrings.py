"""Every public class, method, property and function of both packages has a docstring: the API
reference (docs/reference, built by mkdocstrings in CI) is generated from them."""

from __future__ import annotations

import inspect
import types

import forcelink_emulator

import forcelink
import forcelink.apex
import forcelink.auth
import forcelink.bulk
import forcelink.composite
import forcelink.config
import forcelink.events
import forcelink.files
import forcelink.frames
import forcelink.limits
import forcelink.query
import forcelink.sobjects
import forcelink.tooling

SERVICE_MODULES = [
    forcelink.apex,
    forcelink.auth,
    forcelink.bulk,
    forcelink.composite,
    forcelink.config,
    forcelink.events,
    forcelink.files,
    forcelink.frames,
    forcelink.limits,
    forcelink.query,
    forcelink.sobjects,
    forcelink.tooling,
]


def public_objects() -> dict[str, object]:
    found: dict[str, object] = {}
    for module in (forcelink, forcelink_emulator):
        for name in module.__all__:
            found[f"{module.__name__}.{name}"] = getattr(module, name)
    for module in SERVICE_MODULES:
        for name, value in vars(module).items():
            if not name.startswith("_") and inspect.isclass(value) and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def undocumented() -> list[str]:
    missing: list[str] = []
    seen: set[int] = set()
    for qualname, obj in public_objects().items():
        if id(obj) in seen or isinstance(obj, (str, types.ModuleType)):
            continue
        seen.add(id(obj))
        if not inspect.getdoc(obj):
            missing.append(qualname)
        if not inspect.isclass(obj):
            continue
        for name, member in vars(obj).items():
            if name.startswith("_"):
                continue
            target = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
            documentable = (
                isinstance(target, property)
                or inspect.isfunction(target)
                or inspect.ismethoddescriptor(target)
                or inspect.isdatadescriptor(target)
            )
            if documentable and not getattr(target, "__doc__", None):
                missing.append(f"{qualname}.{name}")
    return missing


def test_every_public_name_is_documented() -> None:
    assert undocumented() == []
