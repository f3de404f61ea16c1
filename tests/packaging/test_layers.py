"""The crates keep their layers (docs/decisions/0009-layers.md): no import circle among a crate's
modules, except the emulator's through its composition root and the client's handle pattern."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def circles_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_circles", ROOT / "scripts" / "import_circles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_circles"] = module
    spec.loader.exec_module(module)
    return module


def circles(crate: str, without: tuple[str, ...] = ()) -> list[list[str]]:
    tool = circles_tool()
    graph = tool.edges(ROOT / "rust" / crate / "src")
    for name in without:
        graph.pop(name, None)
        for targets in graph.values():
            targets.discard(name)
    found: list[list[str]] = tool.circles(graph)
    return found


def test_the_tool_finds_a_circle_it_is_shown() -> None:
    tool = circles_tool()
    assert tool.circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert tool.circles({"a": {"b"}, "b": set()}) == []


def test_the_emulator_has_no_circle_but_through_its_composition_root() -> None:
    assert circles("emulator", without=("org",)) == []
    # The HTTP kit and the model import nothing above them.
    graph = circles_tool().edges(ROOT / "rust" / "emulator" / "src")
    for module, targets in graph.items():
        if module.startswith("http_kit"):
            assert all(t.startswith("http_kit") for t in targets), (module, targets)
        if module.startswith("model"):
            assert all(t.startswith(("model", "http_kit")) for t in targets), (module, targets)


def test_the_clients_one_circle_is_the_handle_and_its_services() -> None:
    services = {"bulk", "composite", "events", "query", "sobjects", "files", "tooling", "raw"}
    found = circles("client")
    assert len(found) == 1
    assert "client" in found[0]
    assert set(found[0]) - {"client"} <= services


def test_the_bindings_and_the_wire_have_no_circle() -> None:
    assert circles("python") == []
    assert circles("emulator-python") == []
    assert circles("wire") == []
