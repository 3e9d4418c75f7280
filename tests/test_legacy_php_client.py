"""A legacy PHP client (tests/legacy/octeth_client.php, Debian's php-cli) against the service under
gunicorn, read as such a client reads Octeth's answers (SPEC §2-§4)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import Accounts
from helpers import insert_domain
from octeth_domains import create_app
from servers import AppProcess

SCRIPT = Path(__file__).parent / "legacy" / "octeth_client.php"


def test_a_legacy_php_client_runs_its_whole_session(make_env, tmp_path):
    php = shutil.which("php")
    assert php, "install Debian's php-cli (the set-up script does)"
    env = make_env()
    app = create_app(env)
    app.extensions["octeth_db"].upgrade()
    user = Accounts(app).user()
    protected = insert_domain(app, user["UserID"], "held.example", status="Suspended")
    server = AppProcess(env, tmp_path / "gunicorn.log")
    try:
        result = subprocess.run([php, str(SCRIPT), server.url, user["Username"], user["Password"], str(protected)],
                                capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["login"] == {"Success": True, "HasSession": True}
    assert report["list"] == {"Success": True, "Count": 1}
    assert report["create"]["Success"] is True and isinstance(report["create"]["DomainID"], int)
    assert report["get"] == {"Success": True, "SenderDomain": "legacy-php.example", "Status": "Approval Pending"}
    assert report["delete"] == {"Success": True}
    # Octeth v6.0.1 refuses this delete with HTTP 422: a client that drops other statuses' bodies
    # still reads a failure, as it would from Octeth; nothing crashes.
    assert report["protected_delete"] == {"Success": False, "HTTPStatus": 422}
    # A hard failure (scalar ErrorCode) travels with a 4xx, so such a client never reads it as an array.
    assert report["unknown_command"] == {"Success": False, "HTTPStatus": 400}
    assert report["failed_login"] == {"Success": False, "ErrorCode": 3}  # "Invalid login information"
