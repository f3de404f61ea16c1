"""The API reference covers every public name: each name `forcelink` exports, each service a
client reaches, and the simulation module, has an entry in docs/reference; and no docstring
carries a Sphinx role, which the reference would print as literal text."""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from pathlib import Path

import forcelink
from forcelink import Salesforce

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"
ROLE = re.compile(r":(?:class|meth|func|attr|mod|exc|data|obj):`")


def documented() -> set[str]:
    """The dotted paths of every ``::: path`` entry of the reference."""
    targets = set()
    for page in REFERENCE.glob("*.md"):
        targets.update(re.findall(r"^::: ([\w.]+)", page.read_text(), flags=re.MULTILINE))
    return targets


def has_entry(name: str, value: object, targets: set[str]) -> bool:
    module = getattr(value, "__module__", None)
    candidates = {f"forcelink.{name}", f"{module}.{name}", str(module)}
    return bool(candidates & targets)


def test_every_exported_name_has_a_reference_entry() -> None:
    targets = documented()
    missing = [
        name
        for name in forcelink.__all__
        if not name.startswith("__") and not has_entry(name, getattr(forcelink, name), targets)
    ]
    assert missing == []


def test_every_service_of_the_client_has_a_reference_entry() -> None:
    targets = documented()
    services = [
        name for name, member in vars(Salesforce).items() if isinstance(member, functools.cached_property)
    ]
    assert len(services) >= 10
    missing = []
    for name in services:
        returned = inspect.get_annotations(vars(Salesforce)[name].func)["return"]
        if f"forcelink.{name}.{returned}" not in targets:
            missing.append(f"forcelink.{name}.{returned}")
    assert missing == []


def test_the_simulation_module_and_format_sosl_are_documented() -> None:
    targets = documented()
    assert {"forcelink.simulation", "forcelink.format_sosl", "forcelink.bulk.LoadOptions"} <= targets


def test_no_public_docstring_carries_a_sphinx_role() -> None:
    offenders = []
    for module_name in (
        "forcelink",
        "forcelink.bulk",
        "forcelink.client",
        "forcelink.composite",
        "forcelink.config",
        "forcelink.errors",
        "forcelink.events",
        "forcelink.query",
        "forcelink.sobjects",
        "forcelink.metrics",
        "forcelink.health",
        "forcelink.simulation",
        "forcelink_emulator.emulator",
    ):
        module = importlib.import_module(module_name)
        for name, value in [(module_name, module), *vars(module).items()]:
            if name != module_name and not str(getattr(value, "__module__", "")).startswith("forcelink"):
                continue
            doc = inspect.getdoc(value) or ""
            members = vars(value).values() if inspect.isclass(value) else ()
            docs = [
                doc,
                *(inspect.getdoc(m) or "" for m in members if callable(m) or isinstance(m, property)),
            ]
            if any(ROLE.search(d) for d in docs):
                offenders.append(f"{module_name}.{name}")
    assert offenders == []
