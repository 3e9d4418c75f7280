"""The service layer is free of Flask: the sender-domain rules, the SQL and the providers take
what they need from ``create_app`` as arguments, and refuse with their own errors, which the
command layer turns into envelopes and HTTP statuses."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "octeth_domains"
SERVICE_LAYER = sorted([*(PACKAGE / "senderdomains").glob("*.py"), *(PACKAGE / "models").glob("*.py"),
                        *(PACKAGE / "providers").glob("*.py"), PACKAGE / "domainconnect.py"])
# The web framework and the API's own request-shaped parts; werkzeug.security (password hashes) is
# a library like any other.
FORBIDDEN = ("flask", "werkzeug.exceptions", "werkzeug.wrappers", "octeth_domains.api", "octeth_domains.web",
             "octeth_domains.commands", "octeth_domains.db.get_db")  # get_db: the request's connection


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = "octeth_domains." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rstrip(".").split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_the_service_layer_is_listed():
    assert len(SERVICE_LAYER) > 30 and PACKAGE / "senderdomains" / "listing.py" in SERVICE_LAYER


@pytest.mark.parametrize("path", SERVICE_LAYER, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_a_service_module_imports_no_web_framework(path):
    bad = sorted(name for name in imported_modules(path)
                 if any(name == forbidden or name.startswith(forbidden + ".") for forbidden in FORBIDDEN))
    assert bad == []


def test_the_import_reader_sees_relative_imports():
    # The check above must be able to fail: it reads `from ..x import y` as octeth_domains.x.y.
    seen = imported_modules(PACKAGE / "senderdomains" / "listing.py")
    assert {"octeth_domains.jsontext.JSONText", "octeth_domains.models.senderdomains", "octeth_domains.db"} <= seen
    assert "octeth_domains.api.auth.Caller" in imported_modules(PACKAGE / "commands" / "senderdomains.py")
