"""forcelink-emulator: a local Salesforce org that speaks the real wire protocols.

OAuth 2.0, REST (sObjects, SOQL, composite), Bulk API 2.0 and the Pub/Sub gRPC API on 127.0.0.1,
over HTTP/1.1 and HTTP/2, with TLS on request, fault injection and API accounting. Use it from
tests (``Emulator``, the ``sf_emulator`` fixture) or as a server for any client
(``forcelink-emulator --tls``).
"""

from . import cli
from ._core import __version__
from .emulator import ApexRequest, Emulator
from .records import make_account, make_case, make_contact, make_lead, make_opportunity, sample_account

__all__ = [
    "ApexRequest",
    "Emulator",
    "__version__",
    "cli",
    "make_account",
    "make_case",
    "make_contact",
    "make_lead",
    "make_opportunity",
    "sample_account",
]
