"""The local org for tests, from the forcelink-emulator package (``pip install
'forcelink[emulator]'``): ``Emulator`` and the sample-record factories, under the name
they had when the emulator shipped inside forcelink."""

from __future__ import annotations

try:
    from forcelink_emulator import (
        Emulator,
        make_account,
        make_case,
        make_contact,
        make_lead,
        make_opportunity,
    )
except ImportError as e:
    raise ImportError(
        "forcelink.testing needs the local org, which is not installed: pip install 'forcelink[emulator]'"
    ) from e

__all__ = ["Emulator", "make_account", "make_case", "make_contact", "make_lead", "make_opportunity"]
