"""The dns-lexicon providers (SPEC §11) against local fakes of their public APIs
(tests/provider_servers: every fake module with a ``LEXICON_CASE``), through the registry's client
and, when the commands read the registry, through ``dns.authorize`` and ``dns.set``.

Nothing is patched: lexicon's provider classes talk real HTTP to the fakes, which record every
request, so the rules of SPEC §7 are checked on what the fake holds and on what it was sent.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import socket
import time
import typing as t
from dataclasses import dataclass

import pytest

from octeth_domains.providers import AuthorizationFailed, Credentials, ProviderError, Record, registry
from octeth_domains.providers.registry import ExtraMissing
from octeth_domains.providers.http import write_may_repeat
import provider_servers
from provider_servers import OURS, SPF, UNRELATED, FakeServer, LexiconCase

ZONE = "example.com"
#: Our SPF value: merged into the user's SPF record, never published beside it.
OUR_SPF = Record(ZONE, "TXT", "v=spf1 include:_spf.mailer.delivery.example ~all")
MERGED_SPF = "v=spf1 include:_spf.example.net include:_spf.mailer.delivery.example ~all"
WANTED = [*OURS, OUR_SPF]
#: Our CNAME host, found pointing elsewhere.
OLD_CNAME = ("sl.example.com", "CNAME", "old-target.example.net")


def _lexicon_cases() -> dict[str, LexiconCase]:
    found = {}
    for module in pkgutil.iter_modules(provider_servers.__path__):
        case = getattr(importlib.import_module(f"provider_servers.{module.name}"), "LEXICON_CASE", None)
        if case is not None:
            found[case.name] = case
    return found


LEXICON_CASES = _lexicon_cases()
NAMES = sorted(LEXICON_CASES)


def test_every_provider_driven_through_lexicon_has_a_fake_here() -> None:
    """A fake module without its ``LEXICON_CASE`` would leave its provider out of every test below
    without a word. (Route 53's client is a factory that needs boto3, an extra: AWS's signed API
    has no fake here, and only the missing extra is tested.)"""
    from octeth_domains.providers._lexicon import LexiconProvider

    driven = {name for name, info in registry.load().items()
              if isinstance(info.client, type) and issubclass(info.client, LexiconProvider)}
    assert driven == set(NAMES) and "route53" in registry.load()
PAGED = [name for name in NAMES if LEXICON_CASES[name].page_size is not None]
#: Every credential value of every case: none may reach an error or a log line.
SECRETS = [value for case in LEXICON_CASES.values() for params in (case.good, case.bad) for value in params.values()]


@dataclass
class Case:
    lexicon: LexiconCase
    server: t.Any

    @property
    def name(self) -> str:
        return self.lexicon.name

    @property
    def path(self) -> str:  # where the API is mounted on the fake
        return self.lexicon.path

    @property
    def good(self) -> dict[str, str]:
        return self.lexicon.good

    @property
    def bad(self) -> dict[str, str]:
        return self.lexicon.bad

    @property
    def url(self) -> str:
        return self.server.url + self.path

    def client(self, params: dict[str, str] | None = None, **options: t.Any) -> t.Any:
        info = registry.load()[self.name]
        settings = {"timeout": 2.0, "retries": 2, "backoff": 0.01, **options}
        settings.setdefault("api_url", self.url)
        return info.client(self.lexicon.credentials(params), **settings)

    def raw(self) -> dict[t.Any, dict[str, t.Any]]:
        """Every record exactly as the fake stores it, by id."""
        return {rid: dict(record) for rid, record in self.server.records.items()}

    def at(self, fqdn: str, rtype: str) -> list[tuple[t.Any, str]]:
        """(id, value) of the records of ``rtype`` at ``fqdn``, values as dump() shows them."""
        return [(rid, value) for rid, name, kind, value in self.server.dump_ids(ZONE)
                if (name, kind) == (fqdn, rtype)]


def make(name: str) -> Case:
    lexicon = LEXICON_CASES[name]
    return Case(lexicon, lexicon.fake().start())


def _started(name: str) -> t.Iterator[Case]:
    c = make(name)
    c.server.add_zone(ZONE, [*UNRELATED, OLD_CNAME])
    try:
        yield c
    finally:
        c.server.stop()


@pytest.fixture(params=NAMES)
def case(request: pytest.FixtureRequest) -> t.Iterator[Case]:
    yield from _started(request.param)


@pytest.fixture(params=PAGED)
def paged_case(request: pytest.FixtureRequest) -> t.Iterator[Case]:
    yield from _started(request.param)


def writes(server: FakeServer) -> list[tuple[str, str]]:
    return [(s.method, s.path) for s in server.writes()]


# -- authorize -----------------------------------------------------------------------------------


def test_good_credentials_reach_the_zone(case: Case) -> None:
    case.client().check_access(ZONE)
    assert case.server.requests and writes(case.server) == []


def test_bad_credentials_are_authorization_failed(case: Case) -> None:
    with pytest.raises(AuthorizationFailed) as info:
        case.client(case.bad).check_access(ZONE)
    assert "refused the credentials" in str(info.value) and str(case.lexicon.refused_status) in str(info.value)
    assert not [value for value in case.bad.values() if value in str(info.value)]


def test_a_zone_outside_the_account_is_authorization_failed(case: Case) -> None:
    with pytest.raises(AuthorizationFailed) as info:
        case.client().check_access("other.example")
    assert "other.example is not in this" in str(info.value)


# -- the rules of SPEC §7 ------------------------------------------------------------------------


def test_ensure_records_writes_ours_and_keeps_every_other_record_byte_for_byte(case: Case) -> None:
    before = case.raw()
    (cname_id, _), = case.at("sl.example.com", "CNAME")
    (spf_id, _), = [(rid, v) for rid, v in case.at(ZONE, "TXT") if v == SPF]

    hosts = case.client().ensure_records(ZONE, WANTED)

    assert hosts == ["sl.example.com", "key1._domainkey.sl.example.com", "_dmarc.sl.example.com",
                     "track-sl.example.com", "abcdefghij.sl.example.com", ZONE]
    after = case.raw()
    for rid, record in before.items():
        if rid not in (cname_id, spf_id):
            assert after[rid] == record  # the user's records, untouched
    # Our CNAME was rewritten in place (same record id), not deleted and re-created.
    assert case.at("sl.example.com", "CNAME") == [(cname_id, "mailer.delivery.example")]
    # One SPF record at the apex, the user's own, with our mechanism merged in.
    spf = [(rid, v) for rid, v in case.at(ZONE, "TXT") if v.startswith("v=spf1")]
    assert spf == [(spf_id, MERGED_SPF)]
    zone = case.server.dump(ZONE)
    for record in OURS[1:]:
        assert (record.name, record.type, record.value.rstrip(".")) in zone
    assert len(zone) == len(UNRELATED) + 1 + len(OURS) - 1
    assert not [s for s in case.server.requests if s.method == "DELETE"]


def test_a_second_run_sends_no_write(case: Case) -> None:
    case.client().ensure_records(ZONE, WANTED)
    before = case.raw()
    case.server.clear_requests()
    case.client().ensure_records(ZONE, WANTED)
    assert case.server.requests and writes(case.server) == []
    assert case.raw() == before


def test_a_zone_of_several_pages_is_read_whole(paged_case: Case) -> None:
    """Our records sit on the last page of a long zone: nothing is added twice, and a second run
    writes nothing."""
    case = paged_case
    filler = [(f"host{i:02d}.example.com", "A", f"192.0.2.{i}") for i in range(1, 31)]
    present = [(r.name, r.type, r.value.rstrip(".")) for r in OURS]
    case.server.add_zone(ZONE, [*UNRELATED, *filler, *present])
    case.lexicon.page_size(case.server, 7)
    case.server.clear_requests()
    case.client().ensure_records(ZONE, OURS)
    assert writes(case.server) == []
    pages = {next((s.query[key] for key in case.lexicon.page_keys if s.query.get(key)), None)
             for s in case.server.requests}
    assert len(pages - {None}) >= 4  # 40 records, 7 a page: it followed the pagination


RELATIVE_HOSTS = [name for name in NAMES if getattr(registry.load()[name].client, "relative_hosts", False)]


def _hold_relative_target(case: Case, host: str, target: str) -> None:
    """Make the fake hold ``host``'s CNAME as its API does after a target sent without its final
    dot: relative to the zone."""
    relative = host[: -len(ZONE) - 1]
    if case.name == "ovh":
        (record,) = [r for r in case.server.records.values() if (r["subDomain"], r["fieldType"]) == (relative, "CNAME")]
        record["target"] = target
    elif case.name == "gandi":
        case.server.records[f"{ZONE}/{relative}/CNAME"]["rrset_values"] = [target]
    elif case.name == "hetzner":
        (record,) = [r for r in case.server.records.values() if (r["name"], r["type"]) == (relative, "CNAME")]
        record["value"] = target
    else:
        raise AssertionError(f"say how the {case.name} fake holds a relative target")


@pytest.mark.parametrize("name", RELATIVE_HOSTS)
def test_a_target_the_api_holds_relative_to_the_zone_is_not_taken_for_ours(name: str) -> None:
    """``mailer.delivery.example`` without its final dot, in example.com, is served as
    ``mailer.delivery.example.example.com``: read as that, it is rewritten in place to ours."""
    for case in _started(name):
        _hold_relative_target(case, "sl.example.com", "mailer.delivery.example")
        (cname_id, served), = case.at("sl.example.com", "CNAME")
        assert served == "mailer.delivery.example.example.com"
        case.client().ensure_records(ZONE, OURS)
        assert case.at("sl.example.com", "CNAME") == [(cname_id, "mailer.delivery.example")]


@pytest.mark.parametrize("preference", ["10", "0"])
def test_an_mx_record_keeps_its_preference(case: Case, preference: str) -> None:
    """A template may hold an MX record: it is published with its preference (0 included), in the
    data or in a field of its own as the API keeps it, beside the user's MX at the apex and with
    our other records, and a second run writes nothing."""
    ours = Record(ZONE, "MX", f"{preference} mx.mailer.delivery.example.")
    client = case.client()
    client.ensure_records(ZONE, [ours, *OURS])
    assert sorted(v for n, r, v in case.server.dump(ZONE) if (n, r) == (ZONE, "MX")) == [
        f"{preference} mx.mailer.delivery.example", "10 mx1.example.net"]
    case.server.clear_requests()
    client.ensure_records(ZONE, [ours, *OURS])
    assert writes(case.server) == []


@pytest.mark.parametrize("preference, accepted", [("255", True), ("256", False)])
def test_linode_takes_an_mx_preference_up_to_255_and_refuses_more_before_any_write(
        preference: str, accepted: bool) -> None:
    """Linode's schema bounds ``priority`` to 0-255: a template's higher preference is refused
    before the first write, saying so, instead of by the API halfway through the run."""
    ours = Record(ZONE, "MX", f"{preference} mx.mailer.delivery.example.")
    for case in _started("linode"):
        before = sorted(case.server.dump(ZONE))
        if accepted:
            case.client().ensure_records(ZONE, [*OURS, ours])
            assert (ZONE, "MX", "255 mx.mailer.delivery.example") in case.server.dump(ZONE)
            continue
        with pytest.raises(ProviderError, match="from 0 to 255.*has 256.*nothing was written"):
            case.client().ensure_records(ZONE, [*OURS, ours])
        assert writes(case.server) == [] and sorted(case.server.dump(ZONE)) == before


PER_ID_PREFERENCE = ["digitalocean", "linode", "vultr"]  # lexicon lists no preference there


@pytest.mark.parametrize("name", PER_ID_PREFERENCE)
def test_an_mx_records_preference_is_read_only_where_a_run_writes(name: str) -> None:
    """Reading an MX record's preference there costs a call: the user's MX records at names we
    do not write are not read, one at a name we write is."""
    for case in _started(name):
        case.server.add_zone(ZONE, [*UNRELATED, ("mail.example.com", "MX", "20 mx2.example.net")])
        case.server.clear_requests()
        case.client().ensure_records(ZONE, OURS)
        by_id = [s for s in case.server.requests if s.method == "GET" and "/records/" in s.path]
        assert len(by_id) == 1  # the apex MX (we write a TXT there); not mail.example.com's


# -- transient trouble -----------------------------------------------------------------------------


def test_server_errors_are_retried(case: Case) -> None:
    case.server.fail(2, status=502)
    case.client(retries=2).check_access(ZONE)
    assert len(case.server.requests) >= 3


@pytest.mark.parametrize("records", [OURS, OURS[1:]], ids=["our CNAME found elsewhere: an edit first",
                                                          "none of ours there: a create first"])
def test_a_write_answered_500_after_it_was_done_is_not_sent_again(case: Case, records: list[Record]) -> None:
    """The provider carried the first write out, then its answer failed. Sent again, a create
    would publish the record twice; only a write the API makes safe to repeat is retried."""
    case.server.fail_after_acting(1, status=500)
    try:
        case.client().ensure_records(ZONE, records)
    except ProviderError:
        pass
    zone = case.server.dump(ZONE)
    assert len(zone) == len(set(zone)), zone  # no record twice
    first = case.server.writes()[0]
    if not write_may_repeat(registry.load()[case.name].client, first.method, 500, first.path):
        assert [(s.method, s.path) for s in case.server.writes()].count((first.method, first.path)) == 1, \
            writes(case.server)


def test_a_write_sent_once_is_said_as_such_not_as_three_attempts() -> None:
    for case in _started("porkbun"):
        case.server.fail_after_acting(1, status=500)
        with pytest.raises(ProviderError) as info:
            case.client(retries=2).ensure_records(ZONE, OURS[1:2])
        assert [s.path for s in case.server.writes()] == ["/api/json/v3/dns/create/example.com"]
        assert "answered HTTP 500 to a change, which was not sent again" in str(info.value)
        assert "attempts" not in str(info.value)


def test_porkbun_repeats_an_edit_answered_500_but_never_a_create() -> None:
    client = registry.load()["porkbun"].client
    assert write_may_repeat(client, "POST", 500, "/api/json/v3/dns/edit/example.com/7")
    assert write_may_repeat(client, "POST", 500, "/api/json/v3/dns/retrieve/example.com")
    assert write_may_repeat(client, "POST", 503, "/api/json/v3/dns/create/example.com")
    assert not write_may_repeat(client, "POST", 500, "/api/json/v3/dns/create/example.com")
    assert not write_may_repeat(client, "POST", 502, "/api/json/v3/dns/create/example.com")


def test_retries_are_bounded_then_a_provider_error(case: Case) -> None:
    case.server.fail(100, status=503)
    with pytest.raises(ProviderError) as info:
        case.client(retries=2).check_access(ZONE)
    assert not isinstance(info.value, AuthorizationFailed)
    assert len(case.server.requests) == 3
    assert "HTTP 503 after 3 attempts" in str(info.value) and "try again later" in str(info.value)


def test_rate_limit_is_retried_honouring_retry_after_up_to_a_cap(case: Case) -> None:
    case.server.fail(1, status=429, retry_after="3600")
    client = case.client(backoff=0, max_retry_after=0.3)
    started = time.monotonic()
    client.check_access(ZONE)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2


def test_a_rate_limit_that_lasts_is_a_provider_error(case: Case) -> None:
    case.server.fail(100, status=429)
    with pytest.raises(ProviderError) as info:
        case.client(retries=1).check_access(ZONE)
    assert "limiting the rate" in str(info.value) and len(case.server.requests) == 2


def test_digitalocean_rate_limit_answer_is_retried() -> None:
    case = make("digitalocean")
    try:
        case.server.add_zone(ZONE, UNRELATED)
        case.server.limit(2)
        case.client(retries=2).check_access(ZONE)
        assert len(case.server.requests) >= 3
    finally:
        case.server.stop()


def test_a_hanging_server_is_a_provider_error_within_the_timeout(case: Case) -> None:
    case.server.hang(5)
    client = case.client(timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        client.ensure_records(ZONE, WANTED)
    assert time.monotonic() - started < 1.5  # a read timeout is not retried
    assert not isinstance(info.value, AuthorizationFailed)
    assert "did not answer within 0.5 seconds" in str(info.value)


def test_an_unreachable_server_is_a_provider_error(case: Case) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ProviderError) as info:
        case.client(api_url=f"http://127.0.0.1:{port}{case.path}").check_access(ZONE)
    assert "Could not connect" in str(info.value) and "connection refused" in str(info.value)


def test_a_url_that_is_not_the_api_is_a_provider_error(case: Case) -> None:
    with pytest.raises(ProviderError) as info:
        case.client(api_url=case.server.url + "/nothing-here").check_access(ZONE)
    assert not [value for value in case.good.values() if value in str(info.value)]


def test_no_credential_in_errors_or_logs(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts = []
    for params, trouble in ((case.bad, None), (case.good, 503), (case.good, "hang")):
        if trouble == 503:
            case.server.fail(10, status=503)
        elif trouble == "hang":
            case.server.hang(1)
        try:
            case.client(params, timeout=0.5).ensure_records(ZONE, WANTED)
        except ProviderError as exc:
            texts.append(str(exc))
    texts.append(caplog.text)
    assert len(texts) == 4
    for text in texts:
        assert not [s for s in SECRETS if s in text], text


def test_other_users_of_requests_are_not_bounded_by_ours(case: Case) -> None:
    """The timeout and retries apply only inside our lexicon calls: a plain requests call made
    meanwhile elsewhere gets neither."""
    import requests

    case.client().check_access(ZONE)
    case.server.fail(1, status=503)
    session = requests.Session()
    assert session.get(case.url + "/anything").status_code == 503
    assert not hasattr(session, "_octeth_policy")


# -- route53 without its extra -------------------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("boto3") is not None, reason="boto3 is installed here")
def test_route53_without_boto3_names_the_extra() -> None:
    info = registry.load()["route53"]
    assert info.extra == "route53"
    with pytest.raises(ExtraMissing) as raised:
        info.client(Credentials("AKIAEXAMPLE", "secretExample"), api_url=None, timeout=2)
    assert raised.value.extra == "route53"
    assert "octeth-domains[route53]" in str(raised.value)


def test_every_lexicon_provider_is_registered_with_its_nameservers_and_credentials() -> None:
    providers = registry.load()
    expected = {"digitalocean": "*.digitalocean.com", "hetzner": "*.ns.hetzner.com", "linode": "*.linode.com",
                "vultr": "*.vultr.com", "dnsimple": "*.dnsimple.com", "gandi": "*.gandi.net", "ovh": "*.ovh.net",
                "porkbun": "*.porkbun.com", "route53": "*.awsdns-*"}
    for name, pattern in expected.items():
        info = providers[name]
        assert pattern in info.nameservers and info.drivable and info.credentials, name
        assert info.api_url and info.api_url.startswith("https://"), name
        assert info.where and "http" not in info.where and "www." not in info.where, name
        assert all(c.label for c in info.credentials), name
    assert providers["route53"].label == "Route 53"
    assert [c.label for c in providers["route53"].credentials] == ["Access key ID", "Secret access key"]
    assert [c.parameter for c in providers["ovh"].credentials] == ["Api_key", "Api_secret", "Api_user"]


@pytest.mark.parametrize("name", ["linode", "dnsimple", "gandi", "ovh", "porkbun"])
def test_each_other_lexicon_client_is_built_against_the_configured_url(name: str) -> None:
    """Each client builds lexicon's provider and points it at the configured URL before its first
    call: a refused connection there is a ProviderError naming that address (nothing leaves for
    the provider's public address), with every kind of credential its provider takes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    info = registry.load()[name]
    client = info.client(Credentials("k3yValue", "s3cretValue", api_user="c0nsumerValue"),
                         api_url=f"http://127.0.0.1:{port}/api", timeout=1, retries=0)
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        client.check_access(ZONE)
    assert time.monotonic() - started < 3
    assert "Could not connect" in str(raised.value) and f"127.0.0.1:{port}" in str(raised.value)


# -- through the commands (SPEC §7, §11) ---------------------------------------------------------------

def command(app: t.Any, api_key: str, name: str, **params: t.Any) -> dict[str, t.Any]:
    response = app.test_client().post(f"/api/v1/{name}", json={"APIKey": api_key, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def served(make_app: t.Any, templates_file: t.Any, dns: t.Any, case: Case) -> t.Iterator[t.Any]:
    """An app whose DNS delegates example.com to the case's provider and whose
    ``OCTETH_<NAME>_API_URL`` is the case's fake; a user with the sender domain example.com."""
    from conftest import Accounts, Api

    host, port = dns.address
    app = make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                   OCTETH_DNS_TIMEOUT="1", OCTETH_PROVIDER_TIMEOUT="2",
                   **{f"OCTETH_{case.name.upper()}_API_URL": case.url})
    dns.add_zone(ZONE)
    first, second = case.lexicon.nameservers
    dns.set_record(ZONE, "NS", first)
    dns.add_record(ZONE, "NS", second)
    user = Accounts(app).user(dns_template="Full")
    _, created = Api(app, user["APIKey"]).create(SenderDomain=ZONE)
    yield app, user, created["SenderDomain"]["VerificationMeta"]["DNSRecords"]


def test_dns_provider_names_the_provider_from_its_name_servers(served: t.Any, case: Case) -> None:
    app, user, _ = served
    assert command(app, user["APIKey"], "dns.provider", Domain="sl.mail.example.com") == {"provider": case.name}


def test_dns_authorize_accepts_good_credentials_and_refuses_bad_ones(served: t.Any, case: Case) -> None:
    app, user, _ = served
    params = {"Provider": case.name, "Domain": ZONE}
    assert command(app, user["APIKey"], "dns.authorize", **params, **case.good) == {"success": True}
    body = command(app, user["APIKey"], "dns.authorize", **params, **case.bad)
    assert body["Errors"][0]["Code"] == 4
    assert not [value for value in case.bad.values() if value in json_text(body)]


def test_dns_set_writes_ours_keeps_the_users_and_a_second_set_writes_nothing(served: t.Any, case: Case) -> None:
    app, user, records = served
    before = case.raw()
    (cname_id, _), = case.at("sl.example.com", "CNAME")
    params = {"Provider": case.name, "Domain": ZONE, "Record_type": "campaign", **case.good}

    body = command(app, user["APIKey"], "dns.set", **params)
    assert body["success"] is True and sorted(body["Records"]) == sorted(records)
    after = case.raw()
    for rid, record in before.items():
        if rid != cname_id:
            assert after[rid] == record
    assert [rid for rid, _ in case.at("sl.example.com", "CNAME")] == [cname_id]  # updated in place
    zone = case.server.dump(ZONE)
    for host, (kind, value) in records.items():
        assert (host.lower(), kind, value.rstrip(".") if kind == "CNAME" else value) in zone, (host, zone)

    case.server.clear_requests()
    assert command(app, user["APIKey"], "dns.set", **params)["success"] is True
    assert case.server.requests and writes(case.server) == []


def test_dns_set_against_a_provider_that_keeps_failing_is_code_9(served: t.Any, case: Case) -> None:
    app, user, _ = served
    case.server.fail(100, status=503)
    body = command(app, user["APIKey"], "dns.set", Provider=case.name, Domain=ZONE, Record_type="campaign",
                   **case.good)
    assert body["Errors"][0]["Code"] == 9 and "503" in body["Errors"][0]["Message"]


@pytest.mark.skipif(importlib.util.find_spec("boto3") is not None, reason="boto3 is installed here")
def test_route53_without_the_extra_is_code_8_naming_it(make_app: t.Any) -> None:
    from conftest import Accounts

    app = make_app()
    key = Accounts(app).user()["APIKey"]
    for name in ("dns.authorize", "dns.set"):
        body = command(app, key, name, Provider="route53", Domain=ZONE, Record_type="campaign",
                       Api_key="AKIAEXAMPLE", Api_secret="secretExample")
        assert body["Errors"][0]["Code"] == 8
        assert "route53" in body["Errors"][0]["Message"] and "[route53]" in body["Errors"][0]["Message"]


def json_text(body: t.Any) -> str:
    import json

    return json.dumps(body)


# -- Hetzner Cloud: record sets without ids --------------------------------------------------------------

HC_TOKEN = "hcloudS3cretProjectToken_0123456789abcdefghijklmnopqrstuv"  # not 32 characters: Cloud
SITE_TXT = (ZONE, "TXT", "google-site-verification=Zm9vYmFyYmF6")


@pytest.fixture
def hcloud() -> t.Iterator[t.Any]:
    from provider_servers.hetzner import FakeHetznerCloud

    server = FakeHetznerCloud(tokens={HC_TOKEN: None}).start()
    server.add_zone(ZONE, [*UNRELATED, OLD_CNAME, SITE_TXT])
    try:
        yield server
    finally:
        server.stop()


def hcloud_client(server: t.Any, token: str = HC_TOKEN) -> t.Any:
    return registry.load()["hetzner"].client(Credentials(token), api_url=server.url + "/v1", timeout=2,
                                             retries=1, backoff=0.01)


def test_hetzner_cloud_rewrites_a_record_set_keeping_its_other_values(hcloud: t.Any) -> None:
    """Merging SPF rewrites the apex TXT set: the user's other TXT value and the TXT this same run
    added to that set both stay."""
    before = sorted(hcloud.dump(ZONE))
    hcloud_client(hcloud).ensure_records(ZONE, WANTED)
    zone = hcloud.dump(ZONE)
    apex_txt = sorted(v for n, r, v in zone if (n, r) == (ZONE, "TXT"))
    assert apex_txt == sorted([MERGED_SPF, SITE_TXT[2], "octeth-verification=Zm9vYmFy"])
    assert [v for n, r, v in zone if (n, r) == ("sl.example.com", "CNAME")] == ["mailer.delivery.example"]
    for entry in before:
        if entry not in (OLD_CNAME, (ZONE, "TXT", SPF)):
            assert entry in zone
    assert not [s for s in hcloud.requests if s.method == "DELETE" or s.path.endswith("/remove_records")]
    hcloud.clear_requests()
    hcloud_client(hcloud).ensure_records(ZONE, WANTED)
    assert writes(hcloud) == []


@pytest.mark.parametrize("preference", ["10", "0"])
def test_hetzner_cloud_publishes_an_mx_host_with_its_final_dot(hcloud: t.Any, preference: str) -> None:
    """Hetzner Cloud reads a host without its final dot relative to the zone: our MX joins the
    user's in the apex set as ``mx.mailer.delivery.example.``, and a second run writes nothing."""
    ours = Record(ZONE, "MX", f"{preference} mx.mailer.delivery.example.")
    hcloud_client(hcloud).ensure_records(ZONE, [ours, *OURS])
    zone_id = next(z["id"] for z in hcloud.zones.values() if z["name"] == ZONE)
    assert hcloud.rrsets[(zone_id, "@", "MX")]["records"] == [
        {"value": "10 mx1.example.net.", "comment": ""},
        {"value": f"{preference} mx.mailer.delivery.example.", "comment": ""}]
    hcloud.clear_requests()
    hcloud_client(hcloud).ensure_records(ZONE, [ours, *OURS])
    assert writes(hcloud) == []


def test_hetzner_cloud_token_refused_is_authorization_failed(hcloud: t.Any) -> None:
    with pytest.raises(AuthorizationFailed):
        hcloud_client(hcloud, "hcloudWrongToken").check_access(ZONE)
    hcloud_client(hcloud).check_access(ZONE)


# -- nothing reaches the internet -------------------------------------------------------------------


NETWORK_PROBE = r"""
import sys
seen = []
def hook(event, args):
    if event == "socket.connect":
        seen.append(("connect", str(args[1])))
    elif event == "socket.getaddrinfo":
        seen.append(("resolve", str(args[0])))
sys.addaudithook(hook)
sys.path.insert(0, sys.argv[1])
import test_lexicon_providers as t
for name in t.NAMES:
    case = t.make(name)
    case.server.add_zone(t.ZONE, [*t.UNRELATED, t.OLD_CNAME])
    case.client().ensure_records(t.ZONE, t.WANTED)
    case.server.stop()
outside = [s for s in seen if "127.0.0.1" not in s[1] and "localhost" not in s[1]]
print("OUTSIDE", outside)
"""


def test_a_whole_run_touches_only_the_configured_addresses(tmp_path: t.Any) -> None:
    """Every socket the lexicon providers open or name goes to the configured API (loopback here):
    no public suffix list, no provider's public address. An audit hook in a fresh interpreter
    sees every connect and every name lookup."""
    import pathlib
    import subprocess
    import sys

    tests = pathlib.Path(__file__).parent
    script = tmp_path / "probe.py"
    script.write_text(NETWORK_PROBE)
    done = subprocess.run([sys.executable, str(script), str(tests)], capture_output=True, text=True,
                          timeout=120, cwd=tests.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "OUTSIDE []" in done.stdout, done.stdout[-2000:]


# -- DNSimple: lexicon reads one page, this module reads them all ---------------------------------------

from provider_servers.dnsimple import DS_TOKEN  # noqa: E402  (the DNSimple tests below)


def test_dnsimple_reads_every_page_so_the_users_spf_is_merged_not_doubled() -> None:
    from provider_servers.dnsimple import FakeDNSimple

    server = FakeDNSimple(tokens={DS_TOKEN: 1010}).start()
    try:
        filler = [(f"host{i:03d}.example.com", "A", f"192.0.2.{i}") for i in range(1, 121)]
        # The user's SPF record and our CNAME host come after 120 records: past the first page.
        server.add_zone(ZONE, [*filler, *UNRELATED, OLD_CNAME])
        client = registry.load()["dnsimple"].client(Credentials(DS_TOKEN), api_url=server.url + "/v2",
                                                    timeout=2, retries=1, backoff=0.01)
        client.ensure_records(ZONE, WANTED)
        zone = server.dump(ZONE)
        assert [v for n, r, v in zone if (n, r) == (ZONE, "TXT") and v.startswith("v=spf1")] == [MERGED_SPF]
        assert [v for n, r, v in zone if (n, r) == ("sl.example.com", "CNAME")] == ["mailer.delivery.example"]
        assert {s.query.get("page") for s in server.requests if s.path.endswith("/records")} >= {"1", "2"}
        assert not [s for s in server.requests if s.method == "DELETE"]
        server.clear_requests()
        client.ensure_records(ZONE, WANTED)
        assert writes(server) == []
        with pytest.raises(AuthorizationFailed):
            registry.load()["dnsimple"].client(Credentials("wrongToken"), api_url=server.url + "/v2",
                                               timeout=2).check_access(ZONE)
    finally:
        server.stop()


def test_dnsimple_takes_the_account_holding_the_zone_not_one_holding_a_name_that_contains_it() -> None:
    """DNSimple's name_like matches part of a name: lexicon took the first account with any
    domain containing "example.com" and then failed every write with a 404."""
    from provider_servers.dnsimple import FakeDNSimple

    server = FakeDNSimple(tokens={DS_TOKEN: [3030, 4040, 1010, 2020]}).start()
    try:
        server.unplanned.add(3030)
        server.lapsed.add(4040)  # its listing answers 402: the search goes on to the next account
        server.add_zone(ZONE, [("ignored.example.com", "A", "192.0.2.9")], account=3030)  # no plan: no access
        server.add_zone("myexample.com", [("myexample.com", "A", "192.0.2.1")], account=1010)
        server.add_zone("example.com.au", [], account=1010)
        server.add_zone(ZONE, [*UNRELATED, OLD_CNAME], account=2020)
        client = registry.load()["dnsimple"].client(Credentials(DS_TOKEN), api_url=server.url + "/v2",
                                                    timeout=2, retries=0)
        client.ensure_records(ZONE, WANTED)
        assert {path.split("/")[2] for _, path in writes(server)} == {"2020"}
        zone = server.dump(ZONE)
        assert [v for n, r, v in zone if (n, r) == ("sl.example.com", "CNAME")] == ["mailer.delivery.example"]
        assert server.dump("myexample.com") == [("myexample.com", "A", "192.0.2.1")]

        # Only names that contain the zone's: the zone is not in these accounts, said at once.
        del server.zones[ZONE]
        server.clear_requests()
        with pytest.raises(AuthorizationFailed, match="not in this DNSimple account"):
            client.check_access(ZONE)
        assert writes(server) == [] and not [s for s in server.requests if s.path.endswith("/records")]
    finally:
        server.stop()


# -- Gandi: a record set that changed between the listing and the write -----------------------------------


def test_gandi_adds_no_second_spf_when_the_users_changed_since_it_was_read() -> None:
    """The user's SPF is edited at Gandi after the zone was listed: the merge of the value read
    then is refused rather than written beside the new one (two SPF records fail SPF)."""
    from octeth_domains.providers.planner import Change

    for case in _started("gandi"):
        client = case.client()
        zone = client.find_zone(ZONE)
        listed = client._list(zone, ZONE)
        (spf,) = [r for r in listed if r.type == "TXT" and r.value.startswith("v=spf1")]
        edited = ['"v=spf1 include:_spf.example.org ~all"']
        case.server.records[f"{ZONE}/@/TXT"]["rrset_values"] = list(edited)
        with pytest.raises(ProviderError, match="changed at Gandi"):
            client._update(zone, ZONE, Change(Record(ZONE, "TXT", MERGED_SPF), replaces=spf), listed)
        assert case.server.records[f"{ZONE}/@/TXT"]["rrset_values"] == edited


# -- Linode: the records we create keep their TTL ------------------------------------------------------


def test_linode_creates_our_records_with_their_ttl_not_the_domains_default() -> None:
    """Lexicon's Linode create sends ``ttl_sec: 0`` (the domain's default, a day unless set):
    ours are sent with their own TTL (3600 here), and created without listing the zone again."""
    for case in _started("linode"):
        case.client().ensure_records(ZONE, WANTED)
        posted = {(s.json["name"], s.json["type"], s.json["target"]) for s in case.server.requests
                  if s.method == "POST"}
        assert len(posted) == 5  # three CNAMEs and two TXT records; sl's CNAME was updated in place
        created = [r for r in case.server.records.values() if (r["name"], r["type"], r["target"]) in posted]
        assert len(created) == 5 and {r["ttl_sec"] for r in created} == {3600}
        record_reads = [s for s in case.server.requests if s.method == "GET" and s.path.endswith("/records")]
        assert len(record_reads) == 1  # the planner's listing, not one more per record created
