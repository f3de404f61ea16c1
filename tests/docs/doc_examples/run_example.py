"""Runs one documentation example: the prelude, then the example, in one namespace, in the
current directory. Top-level ``await`` and ``async with`` run on an event loop. Exits 0 when
the example ran to its end (or a handler ended it after its first event), 1 otherwise.

Usage: python run_example.py EXAMPLE_FILE
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import sys
from pathlib import Path
from typing import Any


def run(source: str, filename: str, namespace: dict[str, Any]) -> None:
    code = compile(source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)
    if inspect.iscoroutine(result):
        asyncio.run(result)


def main() -> int:
    example = Path(sys.argv[1])
    namespace: dict[str, Any] = {"__name__": "__example__"}
    prelude = Path(__file__).with_name("prelude.py")
    run(prelude.read_text(), str(prelude), namespace)
    try:
        run(example.read_text(), str(example), namespace)
    except namespace["ExampleDone"]:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
