"""``forcelink-emulator``: serve a local org until stopped, for any client.

It prints what a client needs, as ``NAME=value`` lines a shell can ``eval`` or a test can parse
(or one JSON object with ``--json``), then serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from collections.abc import Sequence

from ._core import __version__
from .emulator import Emulator
from .records import sample_account

__all__ = ["main", "serve"]


def serve(
    tls: bool,
    port: int,
    api_limit: int,
    seed_accounts: int,
    *,
    as_json: bool = False,
    as_shell: bool = False,
    stop: threading.Event | None = None,
) -> int:
    """Serve a local org until ``stop`` is set, Ctrl-C or SIGTERM, starting with
    ``seed_accounts`` sample Accounts. The settings are printed as ``NAME=value`` lines, one
    JSON object (``as_json``) or quoted ``export`` lines a shell can ``eval`` (``as_shell``: the
    token holds a ``!``, which an interactive shell would expand unquoted)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Emulator(tls=tls, port=port, api_limit=api_limit) as org:
        if seed_accounts:
            org.seed_records("Account", (sample_account(i) for i in range(seed_accounts)))
        settings = {
            "SF_INSTANCE_URL": org.instance_url,
            "SF_LOGIN_URL": org.login_url,
            "SF_PUBSUB_ENDPOINT": org.pubsub_url,
            "SF_ACCESS_TOKEN": str(org.access_token),
        }
        if org.ca_cert_path:
            settings["SF_CA_CERT_FILE"] = org.ca_cert_path
        if as_json:
            print(json.dumps({**settings, "org_id": org.org_id, "username": org.username}), flush=True)
        elif as_shell:
            for name, value in settings.items():
                print(f"export {name}={shlex.quote(value)}")
            print(f"# org {org.org_id}, user {org.username}; serving until Ctrl-C", flush=True)
        else:
            for name, value in settings.items():
                print(f"{name}={value}")
            print(f"# org {org.org_id}, user {org.username}; serving until Ctrl-C", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="forcelink-emulator",
        description="Serve a local Salesforce org (OAuth, REST, Bulk API 2.0, Pub/Sub) on 127.0.0.1 "
        "until stopped. Prints the instance URL, login URL, Pub/Sub endpoint, access token and, "
        "with --tls, the CA certificate file to trust.",
    )
    parser.add_argument("--version", action="version", version=f"forcelink-emulator {__version__}")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--api-limit", type=int, default=100_000, help="daily API request limit")
    parser.add_argument(
        "--seed-accounts", type=int, default=0, metavar="N", help="start with N sample Accounts"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the settings as one JSON object")
    output.add_argument(
        "--shell", action="store_true", help='print the settings as quoted export lines: eval "$(...)"'
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0 to 65535, got {args.port}")
    return serve(
        args.tls, args.port, args.api_limit, args.seed_accounts, as_json=args.json, as_shell=args.shell
    )


if __name__ == "__main__":
    sys.exit(main())
