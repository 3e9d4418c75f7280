"""`octeth-domains domainconnect template` and `keys` (SPEC §12; issue 16 item 1): the service
template keeps the rules of the Domain-Connect/Templates README and the spec's template format,
with variables exactly where the records differ between domains, and the key pair's TXT records
give back its public key."""
import base64
import json
import os
import re
import stat

import pytest
from cryptography.hazmat.primitives import serialization

from test_cli import cli, last_json
from octeth_domains.senderdomains import templates

PROVIDER_ID = "octeth.example"
SERVICE_ID = "senderdomain"
BUILTINS = {"host", "domain", "fqdn"}
FLOW_PARAMETERS = {"domain", "host", "redirect_uri", "state", "sig", "key", "groupId", "providerName", "serviceName"}
# The fields each record type needs (Domain Connect spec, "Template Record").
REQUIRED = {
    "A": {"host", "pointsTo", "ttl"}, "AAAA": {"host", "pointsTo", "ttl"}, "CNAME": {"host", "pointsTo", "ttl"},
    "NS": {"host", "pointsTo", "ttl"}, "TXT": {"host", "data", "ttl"}, "MX": {"host", "pointsTo", "ttl", "priority"},
    "SRV": {"name", "target", "ttl", "priority", "protocol", "service", "weight", "port"}, "SPFM": {"host", "spfRules"},
}
VARIABLE = re.compile(r"%([^%\s]+)%")


@pytest.fixture
def env(make_env, templates_file):
    return make_env(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DOMAINCONNECT_PROVIDER_ID=PROVIDER_ID,
                    OCTETH_DOMAINCONNECT_SERVICE_ID=SERVICE_ID, OCTETH_DOMAINCONNECT_KEY_DOMAIN="keys.octeth.example",
                    OCTETH_DOMAINCONNECT_REDIRECT_DOMAINS="app.octeth.example")


def template_of(env, *args):
    result = cli(env, "domainconnect", "template", *args)
    return json.loads(result.stdout)


def is_number_or_whole_variable(value) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and (value.isdigit() or re.fullmatch(r"%[^%\s]+%", value)))


def check_templates_rules(template: dict) -> list[str]:
    """The rules of the Domain-Connect/Templates README and its schema, as a list of breaches."""
    broken = []
    for name in ("providerId", "providerName", "serviceId", "serviceName"):
        if not isinstance(template.get(name), str) or not template[name]:
            broken.append(f"{name} missing")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", template.get("serviceId", "")):
        broken.append("serviceId is not URL friendly")
    if not isinstance(template.get("records"), list) or not template["records"]:
        broken.append("no records")
    if not template.get("syncPubKeyDomain"):
        broken.append("rule 1: syncPubKeyDomain not set")
    if template.get("syncPubKeyDomain") and template.get("warnPhishing"):
        broken.append("rule 2: syncPubKeyDomain with warnPhishing")
    if not template.get("syncRedirectDomain"):
        broken.append("rule 3: redirect_uri is used but syncRedirectDomain is not set")
    if template.get("syncBlock") is not False:
        broken.append("syncBlock must be false: the synchronous flow is the one used")
    if "version" in template and not isinstance(template["version"], int):
        broken.append("version is not an integer")
    for index, record in enumerate(template.get("records", [])):
        where = f"record {index}"
        rtype = record.get("type")
        missing = REQUIRED.get(rtype, {"host", "data", "ttl"}) - set(record)
        if missing:
            broken.append(f"{where}: {rtype} lacks {sorted(missing)}")
        if rtype == "TXT" and str(record.get("data", "")).lower().startswith("v=spf1"):
            broken.append(f"{where}: rule 4: SPF as TXT instead of SPFM")
        if "%host%" in str(record.get("host", "")):
            broken.append(f"{where}: rule 9: %host% in host")
        for field in ("ttl", "priority"):
            if field in record and not is_number_or_whole_variable(record[field]):
                broken.append(f"{where}: {field} is not a number")
        for field in ("groupId", "txtConflictMatchingPrefix"):
            if VARIABLE.search(str(record.get(field, ""))):
                broken.append(f"{where}: variable in {field}")
        if rtype in ("CNAME", "NS") and record.get("host") in ("@", "") and template.get("hostRequired") is not True:
            broken.append(f"{where}: CNAME at the root of the host needs hostRequired")
        for value in record.values():
            for variable in VARIABLE.findall(str(value)):
                if variable in FLOW_PARAMETERS - BUILTINS:
                    broken.append(f"{where}: variable %{variable}% is a parameter of the flow")
    return broken


def test_the_rule_check_catches_breaches():
    # The check itself can fail: a template breaking rules is reported, rule by rule.
    bad = {"providerId": "x", "providerName": "X", "serviceId": "a b", "serviceName": "S", "warnPhishing": True,
           "syncPubKeyDomain": "x", "records": [
               {"type": "TXT", "host": "%host%", "data": "v=spf1 include:x ~all", "ttl": 3600},
               {"type": "CNAME", "host": "@", "pointsTo": "x.example", "ttl": "%t%x"},
               {"type": "MX", "host": "@", "pointsTo": "mx.example", "ttl": 60, "groupId": "%g%"}]}
    broken = check_templates_rules(bad)
    for expected in ("serviceId is not URL friendly", "rule 2", "rule 3", "syncBlock", "rule 4", "rule 9",
                     "ttl is not a number", "lacks ['priority']", "variable in groupId", "needs hostRequired"):
        assert any(expected in line for line in broken), (expected, broken)


@pytest.mark.parametrize("template_name", ["Full", "Default"])
def test_the_service_template_keeps_the_templates_rules(env, template_name):
    template = template_of(env, "--template", template_name)
    assert check_templates_rules(template) == []
    assert template["providerId"] == PROVIDER_ID and template["serviceId"] == SERVICE_ID
    assert template["syncPubKeyDomain"] == "keys.octeth.example"
    assert template["syncRedirectDomain"] == "app.octeth.example"
    loaded = templates.load_templates(env["OCTETH_DNS_TEMPLATES"])
    assert len(template["records"]) == len(loaded.campaign[template_name])  # one record per template record


def test_the_builtin_template_and_its_file_name(make_env):
    env = make_env(OCTETH_DOMAINCONNECT_PROVIDER_ID=PROVIDER_ID, OCTETH_DOMAINCONNECT_REDIRECT_DOMAINS="a.example")
    result = cli(env, "domainconnect", "template")
    assert result.stderr.strip() == f"# {PROVIDER_ID}.senderdomain.json"  # the repository's file name
    template = json.loads(result.stdout)
    assert check_templates_rules(template) == []
    assert template["syncPubKeyDomain"] == PROVIDER_ID  # by default the provider's own domain
    assert [r["pointsTo"] for r in template["records"] if r["type"] == "CNAME"][0] == "mailer.octeth.example"


def relative(host: str, domain: str) -> str:
    return "@" if host == domain else host[: -len(domain) - 1]


def test_variables_are_exactly_where_domains_differ(env):
    """Render the DNS template for two domains whose labels and ownership records all differ: a
    field of the service template holds a variable exactly when that field differs between them."""
    template = template_of(env, "--template", "Full")
    source = templates.load_templates(env["OCTETH_DNS_TEMPLATES"]).campaign["Full"]
    settings = templates.TemplateSettings(secret_key=b"k")
    one = templates.render(source, "one.example", {"CustomSubdomain": "m1", "CustomTrackPrefix": "t1"}, settings,
                           random_label="aaaaaaaaaa")
    two = templates.render(source, "two.example", {"CustomSubdomain": "m2", "CustomTrackPrefix": "t2"}, settings,
                           random_label="bbbbbbbbbb")
    used = set()
    for record, (host1, (type1, value1)), (host2, (_, value2)) in zip(template["records"], one.items(), two.items()):
        assert record["type"] == type1
        value_field = "data" if type1 == "TXT" else "pointsTo"
        host_varies = relative(host1, "one.example") != relative(host2, "two.example")
        value_varies = value1.replace("one.example", "") != value2.replace("two.example", "")
        assert bool(set(VARIABLE.findall(record["host"])) - BUILTINS) == host_varies, record
        assert bool(set(VARIABLE.findall(record[value_field])) - BUILTINS) == value_varies, record
        used |= {v for field in record.values() for v in VARIABLE.findall(str(field))}
    assert used == {"subdomain", "trackprefix", "ownerlabel", "ownertoken"}
    assert "%subdomain%" in template["variableDescription"]


def test_template_needs_a_provider_id(make_env):
    result = cli(make_env(), "domainconnect", "template", check=False)
    assert result.returncode == 1 and "OCTETH_DOMAINCONNECT_PROVIDER_ID" in result.stderr


def test_a_template_domain_connect_cannot_express_is_refused(make_env, tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[campaign.Default]\n"mail.example.net" = ["CNAME", "x.example."]\n')
    result = cli(make_env(OCTETH_DNS_TEMPLATES=str(path), OCTETH_DOMAINCONNECT_PROVIDER_ID=PROVIDER_ID),
                 "domainconnect", "template", check=False)
    assert result.returncode == 1 and "must end in '._SenderDomain_'" in result.stderr


def assemble(records: list[str]) -> bytes:
    pieces = {}
    for record in records:
        fields = dict(part.split("=", 1) for part in record.split(","))
        assert fields["a"] == "RS256"
        pieces[int(fields["p"])] = fields["d"]
    assert sorted(pieces) == list(range(1, len(pieces) + 1))
    return base64.b64decode("".join(pieces[number] for number in sorted(pieces)))


def test_keys_make_a_private_key_of_mode_0600_and_print_its_public_key(env):
    first = last_json(cli(env, "domainconnect", "keys"))
    path = first["PrivateKey"]
    assert first["Created"] is True and first["Name"] == "_dck1.keys.octeth.example"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    private_key = serialization.load_pem_private_key(open(path, "rb").read(), password=None)
    assert private_key.key_size == 2048
    assert all(len(record) <= 255 for record in first["TXT"]) and len(first["TXT"]) > 1
    public_key = serialization.load_der_public_key(assemble(first["TXT"]))
    assert public_key.public_numbers() == private_key.public_key().public_numbers()
    # Run again: the key is kept (its public half is already published), the records are the same.
    again = last_json(cli(env, "domainconnect", "keys"))
    assert again["Created"] is False and again["TXT"] == first["TXT"]
    text = cli(env, "domainconnect", "keys").stdout
    assert f'_dck1.keys.octeth.example. 3600 IN TXT "{first["TXT"][0]}"' in text
