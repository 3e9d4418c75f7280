#!/usr/bin/env python3
"""The command-line twin of /api.php (SPEC §1).

    python api.php.py Command=user.senderdomain.list APIKey=... [ResponseFormat=XML]

Runs one command in-process through the same dispatcher as the HTTP doors and prints exactly the
body they would send. Exit status: 0 success, 1 an error envelope, 2 a usage error.
"""
import os
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venv"
VENV_PYTHON = VENV / "bin" / "python"


def _in_the_project_venv() -> None:
    """Run under the venv `make install` made when this Python lacks the service's packages, so
    that `python api.php.py ...` works from a checkout whatever `python` is."""
    try:
        import octeth_domains  # noqa: F401
        import pymysql  # noqa: F401
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV.resolve():
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
        raise


def main(argv: list[str]) -> int:
    pairs = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if not sep or not name:
            print(f"usage: {sys.argv[0]} Command=<command> [Name=value ...]", file=sys.stderr)
            return 2
        pairs.append((name, value))
    if not any(name.lower() == "command" for name, _ in pairs):
        print(f"usage: {sys.argv[0]} Command=<command> [Name=value ...]", file=sys.stderr)
        return 2

    _in_the_project_venv()
    from urllib.parse import urlencode

    from flask import g

    from octeth_domains import create_app
    from octeth_domains.api.doors import dispatch
    from octeth_domains.config import ConfigError

    try:
        app = create_app()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # The arguments' own bytes, form-encoded as a client would send them: one the terminal could not
    # decode as UTF-8 meets the same answer as such bytes over HTTP, not an encoding error here.
    body = urlencode([(os.fsencode(name), os.fsencode(value)) for name, value in pairs])
    with app.test_request_context(
        "/api.php", method="POST", data=body, content_type="application/x-www-form-urlencoded",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    ):
        response = dispatch(None)
        failed = "error_code" in g
    body = response.get_data()
    sys.stdout.buffer.write(body + (b"" if body.endswith(b"\n") else b"\n"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
