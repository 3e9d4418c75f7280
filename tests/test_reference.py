"""docs/commands.md is generated from the registry and committed; it must not go stale."""
import re
import subprocess
import sys
from pathlib import Path

from marshmallow import Schema

from octeth_domains import reference
from octeth_domains.api import catalog
from octeth_domains.api.params import Text
from octeth_domains.api.registry import Registry, registry

REPO = Path(__file__).resolve().parent.parent
COMMANDS_MD = REPO / "docs" / "commands.md"


def test_the_committed_reference_is_what_the_registry_generates():
    assert COMMANDS_MD.read_text() == reference.markdown(), "docs/commands.md is stale: run `octeth-domains docs`"


def test_docs_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "commands.md"
    stale.write_text("# Commands\n")
    cli = [str(Path(sys.executable).parent / "octeth-domains"), "docs"]
    env = {"OCTETH_INSTANCE_PATH": str(tmp_path / "instance"), "PATH": "/usr/bin:/bin"}
    assert subprocess.run([*cli, "--check", "--output", str(stale)], env=env, capture_output=True).returncode == 1
    assert subprocess.run([*cli, "--output", str(stale)], env=env, capture_output=True).returncode == 0
    assert subprocess.run([*cli, "--check", "--output", str(stale)], env=env, capture_output=True).returncode == 0
    assert stale.read_text() == reference.markdown()


def _section(text: str, name: str) -> str:
    match = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"{name} is not in the reference"
    return match.group(1)


def test_every_command_appears_with_its_parameters_and_codes():
    text = COMMANDS_MD.read_text()
    for entry in registry.commands.values():
        section = _section(text, entry.name)
        codes = {int(code) for code in re.findall(r"^\| (\d+) \| \d+ \|", section, re.M)}
        assert codes == {error.code for error in catalog.errors_of(entry)}, entry.name
        for parameter in catalog.parameters_of(entry):
            assert f"`{parameter.name}`" in section
        assert "Example answer:" in section and "```json" in section


def test_a_new_command_is_documented_from_its_declaration_alone():
    """What another helper's command gets without touching the generator: its parameters, their
    codes, the handler's declared codes, its own limit and an example from nothing."""
    mine = Registry()

    class SendTestSchema(Schema):
        Recipient = Text(required=True, metadata={"missing": (1, "Missing Recipient parameter"),
                                                    "invalid": (3, "Invalid Recipient"),
                                                    "description": "Where the test message goes."})

    @mine.command("user.senderdomain.sendtest", rest=("POST", "user.senderdomain.sendtest"), schema=SendTestSchema,
                  limit="10 per 5 minutes", errors=[(2, "Sender domain not found"), (9, "Delivery failed", 502)])
    def send_test(args, caller):
        """Send a test message from the domain."""

    section = _section(reference.markdown(mine), "user.senderdomain.sendtest")
    assert "Send a test message from the domain." in section
    assert "| `Recipient` | string | yes | Where the test message goes. |" in section
    for row in ("| 1 | 200 | Missing Recipient parameter | Recipient missing |", "| 3 | 200 | Invalid Recipient |",
                "| 2 | 200 | Sender domain not found |", "| 9 | 502 | Delivery failed |", "| 429 | 429 |"):
        assert row in section
    assert "`10 per 5 minutes`" in section and "`POST /api/v1/user.senderdomain.sendtest`" in section


def test_readme_and_docs_stand_alone():
    """No reference to files outside the repository."""
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "README.md"]:
        text = path.read_text()
        for outside in ("shared/", "SPEC", "../", "ARCHITECTURE", "seeds/"):
            assert outside not in text, (path.name, outside)
        for target in re.findall(r"\]\(([^)#]+)\)", text):
            if "://" not in target:
                assert (path.parent / target).exists(), (path.name, target)


def test_every_setting_is_documented(tmp_path):
    from octeth_domains import config

    text = (REPO / "docs" / "configuration.md").read_text()
    settings = config.from_environment(str(tmp_path), {"OCTETH_SECRET_KEY": "x"})
    missing = [name for name in settings if f"`{name}`" not in text]
    assert missing == [], f"add these to docs/configuration.md: {missing}"
    for name in ("OCTETH_INSTANCE_PATH", "GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        assert f"`{name}`" in text


# Every code a handler can raise is declared, so the reference and OpenAPI cannot miss one ------

def _raised_codes(function, module, seen=None) -> set[int]:
    """The codes of every ``APIError(...)`` / ``DomainError(...)`` that ``function`` or a function
    of its own module that it calls raises, read from the source: a literal code, a module-level
    ``(code, message[, status])`` tuple, a dict of them indexed by a literal, or ``not_found()``."""
    import ast
    import inspect
    import textwrap

    seen = set() if seen is None else seen
    if function in seen:
        return set()
    seen.add(function)
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = dict(vars(module))
    codes: set[int] = set()
    for node in ast.walk(tree):  # `code, message, status = DELIVERY_FAILED` names its parts
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple):
            unpacked = names.get(getattr(node.value, "id", None))
            if isinstance(unpacked, tuple):
                names.update({target.id: part for target, part in zip(node.targets[0].elts, unpacked)
                              if isinstance(target, ast.Name)})

    def value_of(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return names.get(node.id)
        if isinstance(node, ast.Subscript):
            container, key = value_of(node.value), value_of(node.slice)
            try:
                return container[key]
            except (TypeError, KeyError, IndexError):
                return None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call):
            if getattr(node.value.func, "id", "") == "not_found":
                return (2,)
        return None

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None)
        if name in ("APIError", "DomainError") and node.args:
            first = node.args[0]
            value = value_of(first.value if isinstance(first, ast.Starred) else first)
            if isinstance(first, ast.Starred) and isinstance(value, tuple):
                value = value[0]
            if isinstance(value, int):
                codes.add(value)
        elif name in names and inspect.isfunction(names[name]) and names[name].__module__ == module.__name__:
            codes |= _raised_codes(names[name], module, seen)
    return codes


def test_every_code_a_handler_raises_is_declared():
    import importlib

    import octeth_domains.commands  # noqa: F401  (registers every command)

    undeclared = {}
    for entry in registry.commands.values():
        module = importlib.import_module(entry.handler.__module__)
        declared = {error.code for error in catalog.errors_of(entry)}
        missing = _raised_codes(entry.handler, module) - declared
        if missing:
            undeclared[entry.name] = sorted(missing)
    assert undeclared == {}
