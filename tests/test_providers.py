"""The DNS provider clients against local fakes of each provider's API.

Every test talks real HTTP to a server in tests/provider_servers; nothing in
the client is patched. The zone starts with records the user owns (apex A,
MX, SPF, a www CNAME), and the rules of SPEC section 7 are checked on what
the fake holds afterwards: nothing of the user's is lost, a second call
writes nothing, our CNAMEs are updated in place, TXT values sit side by side.
"""

from __future__ import annotations

import logging
import socket
import time
import typing as t
import urllib.parse
from dataclasses import dataclass, field

import pytest

from octeth_domains.providers import registry
from octeth_domains.providers import (
    AuthorizationFailed,
    Credentials,
    Provider,
    ProviderError,
    Record,
    plan_changes,
    relative_name,
    scrub,
)
from provider_servers import OURS, SPF, UNRELATED, FakeServer
from provider_servers.cloudflare import FakeCloudflare
from provider_servers.godaddy import FakeGoDaddy
from provider_servers.namecheap import FakeNamecheap

ZONE = "example.com"
OUR_HOSTS = [
    "sl.example.com",
    "key1._domainkey.sl.example.com",
    "_dmarc.sl.example.com",
    "track-sl.example.com",
    "abcdefghij.sl.example.com",
    "example.com",
]

# Secrets with characters that URL-encoding changes, to catch leaks of the
# encoded form too.
CF_TOKEN = "cfTokenS3cretValue_0123456789"
GD_KEY, GD_SECRET = "gdKeyS3cretValue42", "gdSecretS3cretValue42"
NC_KEY, NC_USER = "ncKey+S3cret/Value=42", "ncApiUserS3cret"
ALL_SECRETS = [CF_TOKEN, GD_KEY, GD_SECRET, NC_KEY, NC_USER]


def entry(record: Record) -> tuple[str, str, str]:
    """A record in the fakes' shape (CNAME targets without the final dot)."""
    value = record.value.rstrip(".") if record.type == "CNAME" else record.value
    return (record.name, record.type, value)


def norm(entries: t.Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Zone contents in a comparable form (host names case-folded, no final dot)."""
    out = []
    for name, rtype, value in entries:
        if rtype in ("CNAME", "MX"):
            value = value.rstrip(".").lower()
        out.append((name.lower().rstrip("."), rtype, value))
    return sorted(out)


@dataclass
class Harness:
    """One provider's fake server and how to build a client for it."""

    name: str
    server: FakeServer
    good: Credentials
    bad: Credentials
    extra: dict[str, t.Any] = field(default_factory=dict)

    def provider(self, credentials: Credentials | None = None, **options: t.Any) -> Provider:
        cls = registry.load()[self.name].client
        assert cls is not None
        settings: dict[str, t.Any] = {
            "api_url": self.server.url,
            "timeout": 2.0,
            "retries": 2,
            "backoff": 0.01,
            **self.extra,
        }
        settings.update(options)
        return cls(credentials or self.good, **settings)

    def add_zone(self, name: str, records: t.Iterable[tuple[str, str, str]], **options: t.Any) -> None:
        self.server.add_zone(name, list(records), **options)

    def dump(self, name: str = ZONE) -> list[tuple[str, str, str]]:
        return norm(self.server.dump(name))


def cloudflare_harness() -> Harness:
    server = FakeCloudflare(tokens={CF_TOKEN: None}).start()
    return Harness("cloudflare", server, Credentials(CF_TOKEN), Credentials("wrongToken123"))


def godaddy_harness() -> Harness:
    server = FakeGoDaddy(keys={(GD_KEY, GD_SECRET): "1000", ("otherKey", "otherSecret"): "2000"}).start()
    return Harness(
        "godaddy", server, Credentials(GD_KEY, GD_SECRET), Credentials(GD_KEY, "wrongSecret")
    )


def namecheap_harness() -> Harness:
    server = FakeNamecheap(users={
        NC_USER: {"key": NC_KEY, "username": NC_USER, "ips": {"198.51.100.7"}},
        "bob": {"key": "bobKey", "username": "bob", "ips": {"198.51.100.7"}},
    }).start()
    server.url += "/xml.response"
    return Harness(
        "namecheap",
        server,
        Credentials(NC_KEY, api_user=NC_USER, username=NC_USER),
        Credentials("wrongKey", api_user=NC_USER, username=NC_USER),
        extra={"client_ip": "198.51.100.7"},
    )


HARNESSES = {
    "cloudflare": cloudflare_harness,
    "godaddy": godaddy_harness,
    "namecheap": namecheap_harness,
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> t.Iterator[Harness]:
    h = HARNESSES[request.param]()
    h.add_zone(ZONE, UNRELATED)
    try:
        yield h
    finally:
        h.server.stop()


def assert_never_replaced_whole_zone(h: Harness) -> None:
    if h.name == "godaddy":
        for seen in h.server.requests:
            assert not (seen.method == "PUT" and seen.path.rstrip("/").endswith("/records")), seen


# -- the rules of SPEC section 7 -------------------------------------------


def test_ensure_records_adds_ours_and_keeps_everything_else(harness: Harness) -> None:
    with harness.provider() as provider:
        hosts = provider.ensure_records(ZONE, OURS)

    assert hosts == OUR_HOSTS
    zone = harness.dump()
    for unrelated in norm(UNRELATED):
        assert zone.count(unrelated) == 1, f"{unrelated} lost or duplicated"
    for record in OURS:
        assert zone.count(norm([entry(record)])[0]) == 1, f"{record} missing or duplicated"
    assert len(zone) == len(UNRELATED) + len(OURS)
    # The apex keeps its SPF beside our TXT.
    apex_txt = sorted(v for n, ty, v in zone if n == ZONE and ty == "TXT")
    assert apex_txt == sorted([SPF, "octeth-verification=Zm9vYmFy"])
    assert_never_replaced_whole_zone(harness)


def test_second_call_writes_nothing(harness: Harness) -> None:
    with harness.provider() as provider:
        provider.ensure_records(ZONE, OURS)
        after_first = harness.dump()
        harness.server.clear_requests()
        hosts = provider.ensure_records(ZONE, OURS)

    assert hosts == OUR_HOSTS
    assert harness.server.writes() == []
    assert harness.server.requests, "the second call should still read the zone"
    assert harness.dump() == after_first


def test_cname_with_another_target_is_updated_in_place(harness: Harness) -> None:
    harness.add_zone(ZONE, UNRELATED + [("sl.example.com", "CNAME", "old-mailer.example.net")])
    with harness.provider() as provider:
        provider.ensure_records(ZONE, OURS)

    zone = harness.dump()
    cnames = [v for n, ty, v in zone if n == "sl.example.com" and ty == "CNAME"]
    assert cnames == ["mailer.delivery.example"]
    for unrelated in norm(UNRELATED):
        assert unrelated in zone
    if harness.name == "cloudflare":
        assert [s.method for s in harness.server.writes()].count("PATCH") == 1
    if harness.name == "godaddy":
        puts = [s for s in harness.server.writes() if s.method == "PUT"]
        assert [s.path for s in puts] == ["/v1/domains/example.com/records/CNAME/sl"]
    assert_never_replaced_whole_zone(harness)


def test_txt_is_added_beside_other_values_at_the_same_name(harness: Harness) -> None:
    harness.add_zone(ZONE, UNRELATED + [("abcdefghij.sl.example.com", "TXT", "someone-else=1")])
    with harness.provider() as provider:
        provider.ensure_records(ZONE, OURS)

    values = sorted(v for n, ty, v in harness.dump() if n == "abcdefghij.sl.example.com")
    assert values == ["someone-else=1", "xG7_Jq2oR-ownership-token"]


def test_a_cname_is_never_forced_over_the_users_records(harness: Harness) -> None:
    harness.add_zone(ZONE, UNRELATED + [("sl.example.com", "A", "192.0.2.99")])
    before = harness.dump()
    with harness.provider() as provider, pytest.raises(ProviderError) as info:
        provider.ensure_records(ZONE, OURS)

    assert not isinstance(info.value, AuthorizationFailed)
    # GoDaddy's own refusal names the host relative to the zone.
    assert ("sl" if harness.name == "godaddy" else "sl.example.com") in str(info.value)
    assert harness.dump() == before
    if harness.name != "godaddy":
        # GoDaddy reads one type at a time and leaves that clash to its own
        # validation; the others see it before writing anything.
        assert harness.server.writes() == []


def test_get_records_reads_every_record_at_a_name(harness: Harness) -> None:
    with harness.provider() as provider:
        records = provider.get_records(ZONE, ZONE)
    found = sorted((r.type, r.value.rstrip(".")) for r in records if r.type in ("A", "TXT", "MX"))
    assert found == [("A", "192.0.2.10"), ("MX", "10 mx1.example.net"), ("TXT", SPF)]
    assert all(r.name == ZONE for r in records)


def test_check_access_accepts_good_credentials(harness: Harness) -> None:
    with harness.provider() as provider:
        provider.check_access(ZONE)
    assert harness.server.writes() == []


# -- saying no --------------------------------------------------------------


def test_wrong_credentials_are_authorization_failed(harness: Harness) -> None:
    with harness.provider(harness.bad) as provider:
        with pytest.raises(AuthorizationFailed):
            provider.check_access(ZONE)
        with pytest.raises(AuthorizationFailed):
            provider.ensure_records(ZONE, OURS)
    assert harness.server.writes() == []
    assert harness.dump() == norm(UNRELATED)


def test_a_domain_outside_the_account_is_authorization_failed(harness: Harness) -> None:
    with harness.provider() as provider, pytest.raises(AuthorizationFailed) as info:
        provider.check_access("not-mine.example")
    assert "not-mine.example" in str(info.value) or harness.name == "namecheap"


def test_records_outside_the_zone_are_a_programming_error(harness: Harness) -> None:
    with harness.provider() as provider, pytest.raises(ValueError):
        provider.ensure_records(ZONE, [Record("sl.other.example", "CNAME", "x.example.")])
    assert harness.server.requests == []


# -- transient trouble ------------------------------------------------------


def test_server_errors_are_retried(harness: Harness) -> None:
    harness.server.fail(2, status=500)
    with harness.provider(retries=2) as provider:
        hosts = provider.ensure_records(ZONE, OURS)
    assert hosts == OUR_HOSTS
    assert norm([entry(r) for r in OURS])[0] in harness.dump()


@pytest.mark.parametrize("status", [500, 502])
def test_a_write_answered_5xx_after_it_was_done_is_not_sent_again(harness: Harness, status: int) -> None:
    # The provider carried the write out, then its answer failed: sending it again could add the
    # record twice. A whole-set write (Namecheap's setHosts) may be repeated; the others may not.
    harness.server.fail_after_acting(1, status=status)
    repeatable = registry.load()[harness.name].client.repeatable_writes
    with harness.provider(retries=2) as provider:
        if repeatable:
            assert provider.ensure_records(ZONE, OURS) == OUR_HOSTS
        else:
            with pytest.raises(ProviderError):
                provider.ensure_records(ZONE, OURS)
    zone = harness.dump()
    first = norm([entry(OURS[0])])[0]
    assert zone.count(first) == 1, zone  # written once, whatever was answered
    writes = len(harness.server.writes())
    assert writes >= 2 if repeatable else writes == 1


@pytest.mark.parametrize("status", [503, 429])
def test_a_write_refused_as_not_taken_on_is_sent_again(harness: Harness, status: int) -> None:
    # 503 and 429 say the server did not act on the request: a write is safe to send again.
    harness.server.fail(1, status=status, writes_only=True)
    with harness.provider(retries=2, backoff=0) as provider:
        provider.max_retry_after = 0.1  # type: ignore[misc]
        assert provider.ensure_records(ZONE, OURS) == OUR_HOSTS
    assert norm([entry(r) for r in OURS])[0] in harness.dump()
    assert len(harness.server.writes()) >= 2


def test_retries_are_bounded(harness: Harness) -> None:
    harness.server.fail(100, status=503)
    with harness.provider(retries=2) as provider, pytest.raises(ProviderError) as info:
        provider.check_access(ZONE)
    assert not isinstance(info.value, AuthorizationFailed)
    assert len(harness.server.requests) == 3
    assert "503" in str(info.value) and "try again later" in str(info.value)


def test_rate_limit_honours_retry_after_up_to_a_cap(harness: Harness) -> None:
    harness.server.fail(1, status=429, retry_after="3600")
    with harness.provider(backoff=0) as provider:
        provider.max_retry_after = 0.2  # type: ignore[misc]
        started = time.monotonic()
        provider.check_access(ZONE)
        elapsed = time.monotonic() - started
    assert 0.15 <= elapsed < 2


def test_a_hanging_server_is_a_provider_error_within_the_timeout(harness: Harness) -> None:
    harness.server.hang(5)
    with harness.provider(timeout=0.5) as provider:
        started = time.monotonic()
        with pytest.raises(ProviderError) as info:
            provider.ensure_records(ZONE, OURS)
        elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 1.0
    assert not isinstance(info.value, AuthorizationFailed)
    assert "did not answer within 0.5 seconds" in str(info.value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_is_a_provider_error(harness: Harness) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    with harness.provider(api_url=url) as provider, pytest.raises(ProviderError) as info:
        provider.check_access(ZONE)
    assert "Could not connect" in str(info.value)


# -- credentials never leak ---------------------------------------------------


def leaked(text: str) -> list[str]:
    found = []
    for secret in ALL_SECRETS:
        for form in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}:
            if form in text:
                found.append(form)
    return found


def test_no_credential_in_logs_or_errors(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    def attempt(provider: Provider, action: t.Callable[[Provider], t.Any]) -> None:
        texts.append(repr(provider))
        texts.append(repr(provider.credentials))
        try:
            action(provider)
        except ProviderError as exc:
            texts.extend([str(exc), repr(exc), exc.reason])

    ensure = lambda p: p.ensure_records(ZONE, OURS)  # noqa: E731
    with harness.provider() as provider:
        attempt(provider, ensure)  # succeeds
        harness.server.fail(100)
        attempt(provider, ensure)  # gives up after retries
        harness.server.fail(0)
        harness.server.hang(1)
        with harness.provider(timeout=0.3) as slow:
            attempt(slow, ensure)  # times out
    with harness.provider(harness.bad) as provider:
        attempt(provider, ensure)  # refused
    with harness.provider(api_url=f"http://127.0.0.1:{free_port()}/x") as provider:
        attempt(provider, ensure)  # unreachable

    assert len([t for t in texts if t]) >= 10
    everything = "\n".join(texts) + "\n" + caplog.text
    assert "HTTP" in caplog.text  # the log did record the calls
    assert leaked(everything) == []


def test_scrub_removes_raw_and_encoded_values() -> None:
    text = f"GET /x?ApiKey={urllib.parse.quote_plus(NC_KEY)}&k={NC_KEY} sso-key {GD_KEY}:{GD_SECRET}"
    cleaned = scrub(text, [NC_KEY, GD_KEY, GD_SECRET, ""])
    assert leaked(cleaned) == []
    assert "[redacted]" in cleaned


@pytest.mark.parametrize("secret", ["e", "re", "Cloud", "fuse"])
def test_scrub_leaves_the_words_around_a_short_credential_whole(secret) -> None:
    text = f"Cloudflare refused the request: key {secret} is not valid (key={secret}&x)"
    cleaned = scrub(text, [secret])
    assert cleaned == "Cloudflare refused the request: key [redacted] is not valid (key=[redacted]&x)"


def test_scrub_removes_a_long_credential_even_inside_a_word() -> None:
    secret = "S3cretValue4242"
    assert scrub(f"tokenis{secret}x and {secret}", [secret]) == "tokenis[redacted]x and [redacted]"


def test_scrub_never_rewrites_its_own_marker() -> None:
    assert scrub("key redacted and key xredactedx", ["redacted"]) == "key [redacted] and key xredactedx"


def test_credentials_repr_shows_no_values() -> None:
    creds = Credentials(NC_KEY, secret=GD_SECRET, api_user=NC_USER, username=NC_USER)
    assert leaked(repr(creds)) == [] and leaked(str(creds)) == []
    assert "key" in repr(creds)


# -- planning, without a provider ---------------------------------------------


def test_relative_names() -> None:
    assert relative_name("sl.mail.example.com", "example.com") == "sl.mail"
    assert relative_name("Example.COM.", "example.com") == "@"
    with pytest.raises(ValueError):
        relative_name("example.org", "example.com")


def test_plan_never_deletes_and_skips_what_is_there() -> None:
    existing = [
        Record("sl.example.com", "CNAME", "MAILER.delivery.example"),  # same target, other case
        Record("example.com", "TXT", SPF),
    ]
    wanted = [
        Record("sl.example.com", "CNAME", "mailer.delivery.example."),
        Record("example.com", "TXT", "token"),
        Record("example.com", "TXT", "token"),
    ]
    changes = plan_changes(wanted, existing)
    assert [(c.record.name, c.record.value, c.replaces) for c in changes] == [
        ("example.com", "token", None)
    ]


# -- Cloudflare ---------------------------------------------------------------


@pytest.fixture()
def cloudflare() -> t.Iterator[Harness]:
    h = cloudflare_harness()
    h.add_zone(ZONE, UNRELATED)
    yield h
    h.server.stop()


def test_cloudflare_follows_pagination(cloudflare: Harness) -> None:
    server = t.cast(FakeCloudflare, cloudflare.server)
    server.max_per_page = 1
    zone_id = server.zone_id(ZONE)
    for value in ("a=1", "b=2", "octeth-verification=Zm9vYmFy"):
        server._store(zone_id, {"name": ZONE, "type": "TXT", "content": value, "ttl": 1})
    with cloudflare.provider() as provider:
        assert len([r for r in provider.get_records(ZONE, ZONE) if r.type == "TXT"]) == 4
        provider.ensure_records(ZONE, [OURS[-1]])  # already there, on page 5 of 5
    assert server.writes() == []


def test_cloudflare_pages_without_end_are_an_error_not_hours(cloudflare: Harness) -> None:
    server = t.cast(FakeCloudflare, cloudflare.server)
    server.endless = True
    started = time.monotonic()
    with pytest.raises(ProviderError) as info, cloudflare.provider() as provider:
        provider.ensure_records(ZONE, [OURS[-1]])
    assert "more than 200 pages" in str(info.value) and time.monotonic() - started < 30
    assert len(server.requests) <= 201 + 5 and server.writes() == []


def test_cloudflare_quoted_txt_counts_as_present(cloudflare: Harness) -> None:
    server = t.cast(FakeCloudflare, cloudflare.server)
    server._store(server.zone_id(ZONE), {
        "name": ZONE, "type": "TXT", "content": '"octeth-verification=Zm9vYmFy"', "ttl": 1,
    })
    with cloudflare.provider() as provider:
        provider.ensure_records(ZONE, [OURS[-1]])
    assert server.writes() == []


def test_cloudflare_creates_unproxied_cnames(cloudflare: Harness) -> None:
    with cloudflare.provider() as provider:
        provider.ensure_records(ZONE, OURS[:1])
    (post,) = cloudflare.server.writes()
    assert post.json["proxied"] is False and post.json["name"] == "sl.example.com"
    assert post.headers["Authorization"] == f"Bearer {CF_TOKEN}"


def test_cloudflare_token_without_the_zone_is_authorization_failed(cloudflare: Harness) -> None:
    t.cast(FakeCloudflare, cloudflare.server).tokens["narrowToken"] = {"other.example"}
    with cloudflare.provider(Credentials("narrowToken")) as provider:
        with pytest.raises(AuthorizationFailed, match="not in this Cloudflare account"):
            provider.check_access(ZONE)


def test_cloudflare_malformed_token_is_authorization_failed(cloudflare: Harness) -> None:
    with cloudflare.provider(Credentials("has spaces in it")) as provider:
        with pytest.raises(AuthorizationFailed):
            provider.check_access(ZONE)


# -- GoDaddy ------------------------------------------------------------------


@pytest.fixture()
def godaddy() -> t.Iterator[Harness]:
    h = godaddy_harness()
    h.add_zone(ZONE, UNRELATED)
    yield h
    h.server.stop()


def test_godaddy_sends_relative_names_and_ttl_of_at_least_600(godaddy: Harness) -> None:
    with godaddy.provider() as provider:
        provider.ensure_records(ZONE, [
            Record("sl.mail.example.com", "CNAME", "mailer.delivery.example.", ttl=300),
            Record("example.com", "TXT", "apex-token", ttl=60),
        ])
    (patch,) = godaddy.server.writes()
    assert patch.method == "PATCH" and patch.path == "/v1/domains/example.com/records"
    assert patch.json == [
        {"type": "CNAME", "name": "sl.mail", "data": "mailer.delivery.example", "ttl": 600},
        {"type": "TXT", "name": "@", "data": "apex-token", "ttl": 600},
    ]
    assert patch.headers["Authorization"] == f"sso-key {GD_KEY}:{GD_SECRET}"


def test_godaddy_domain_of_another_account_is_authorization_failed(godaddy: Harness) -> None:
    godaddy.add_zone("theirs.example", [], account="2000")
    with godaddy.provider() as provider:
        with pytest.raises(AuthorizationFailed, match="does not allow this key"):
            provider.check_access("theirs.example")


def test_godaddy_bad_key_message_names_the_problem(godaddy: Harness) -> None:
    with godaddy.provider(godaddy.bad) as provider:
        with pytest.raises(AuthorizationFailed, match="did not accept the API key and secret"):
            provider.check_access(ZONE)


# -- Namecheap ----------------------------------------------------------------


@pytest.fixture()
def namecheap() -> t.Iterator[Harness]:
    h = namecheap_harness()
    h.add_zone(ZONE, UNRELATED)
    yield h
    h.server.stop()


def params_of(seen: t.Any) -> dict[str, str]:
    return {**seen.query, **seen.form}


def test_namecheap_multi_label_suffix(namecheap: Harness) -> None:
    namecheap.add_zone("example.co.uk", [("example.co.uk", "A", "192.0.2.10")])
    with namecheap.provider() as provider:
        hosts = provider.ensure_records("example.co.uk", [
            Record("sl.example.co.uk", "CNAME", "mailer.delivery.example."),
        ])
    assert hosts == ["sl.example.co.uk"]
    for seen in namecheap.server.requests:
        assert (params_of(seen)["SLD"], params_of(seen)["TLD"]) == ("example", "co.uk")
    (write,) = namecheap.server.writes()
    assert params_of(write)["HostName2"] == "sl"
    assert ("sl.example.co.uk", "CNAME", "mailer.delivery.example") in namecheap.dump("example.co.uk")


def test_namecheap_passes_email_type_back_so_mx_survives(namecheap: Harness) -> None:
    with namecheap.provider() as provider:
        provider.ensure_records(ZONE, OURS)
    (write,) = namecheap.server.writes()
    assert params_of(write)["EmailType"] == "MX"
    assert ("example.com", "MX", "10 mx1.example.net") in namecheap.dump()


def test_namecheap_posts_a_form_when_more_than_ten_hosts(namecheap: Harness) -> None:
    extra = [Record(f"h{i}.sl.example.com", "TXT", f"v{i}") for i in range(3)]
    with namecheap.provider() as provider:
        provider.ensure_records(ZONE, OURS + extra)  # 4 existing + 9 = 13 hosts
    (write,) = namecheap.server.writes()
    assert write.method == "POST"
    assert write.form["HostName13"] == "h2.sl"
    assert len(namecheap.dump()) == 13


def test_namecheap_credentials_never_travel_in_a_url(namecheap: Harness) -> None:
    with namecheap.provider() as provider:
        provider.ensure_records(ZONE, OURS)
    assert len(namecheap.server.requests) == 2
    for seen in namecheap.server.requests:
        assert seen.method == "POST" and seen.query == {}
        assert seen.form["ApiKey"] == NC_KEY and seen.form["ClientIp"] == "198.51.100.7"


def test_namecheap_reads_the_documented_spelling_too(namecheap: Harness) -> None:
    server = t.cast(FakeNamecheap, namecheap.server)
    server.host_tag, server.id_attr = "Host", "HostID"
    with namecheap.provider() as provider:
        provider.ensure_records(ZONE, OURS)
        namecheap.server.clear_requests()
        provider.ensure_records(ZONE, OURS)
    assert namecheap.server.writes() == []
    assert len(namecheap.dump()) == len(UNRELATED) + len(OURS)


#: A zone whose hosts do not all carry Namecheap's defaults (TTL 1800, MXPref
#: 10): (fqdn, type, value, ttl[, mxpref]), in the fake's seeding shape.
NC_VARIED = [
    ("example.com", "A", "192.0.2.10", 60),
    ("example.com", "MX", "0 mx0.example.net", 300),
    ("example.com", "MX", "mx20.example.net", 3600, 20),
    ("example.com", "TXT", SPF, 3600),
    ("example.com", "CAA", '0 issue "letsencrypt.org"', 300),
    ("*.example.com", "A", "192.0.2.20", 60),
    ("www.example.com", "CNAME", "example.com", 300),
    ("old.example.com", "URL301", "https://www.example.net/landing?a=1&b=2", 3600),
    ("quoted.example.com", "TXT", 'k=v&x=<y> "quoted" \'single\'', 60),
    ("plain.example.com", "A", "192.0.2.30"),  # Namecheap's defaults
]
#: What getHosts must report for them: (fqdn, type, address, mxpref, ttl).
NC_VARIED_FULL = [
    ("example.com", "A", "192.0.2.10", "10", "60"),
    ("example.com", "MX", "mx0.example.net", "0", "300"),
    ("example.com", "MX", "mx20.example.net", "20", "3600"),
    ("example.com", "TXT", SPF, "10", "3600"),
    ("example.com", "CAA", '0 issue "letsencrypt.org"', "10", "300"),
    ("*.example.com", "A", "192.0.2.20", "10", "60"),
    ("www.example.com", "CNAME", "example.com", "10", "300"),
    ("old.example.com", "URL301", "https://www.example.net/landing?a=1&b=2", "10", "3600"),
    ("quoted.example.com", "TXT", 'k=v&x=<y> "quoted" \'single\'', "10", "60"),
    ("plain.example.com", "A", "192.0.2.30", "10", "1800"),
]


def test_namecheap_fake_seeds_and_reports_ttl_and_mxpref(namecheap: Harness) -> None:
    server = t.cast(FakeNamecheap, namecheap.server)
    server.add_zone(ZONE, NC_VARIED)
    assert sorted(server.dump_full(ZONE)) == sorted(NC_VARIED_FULL)
    # The shared 3-tuple shape still works on the same zone.
    assert ("example.com", "MX", "20 mx20.example.net") in server.dump(ZONE)
    # getHosts reports them as seeded, through the client's own reading.
    with namecheap.provider() as provider:
        found = {(r.name, r.type, r.value, r.ttl) for r in provider.get_records(ZONE, ZONE)}
    assert ("example.com", "MX", "0 mx0.example.net", 300) in found
    assert ("example.com", "MX", "20 mx20.example.net", 3600) in found
    assert ("example.com", "A", "192.0.2.10", 60) in found


def test_namecheap_set_hosts_fills_namecheaps_defaults(namecheap: Harness) -> None:
    server = t.cast(FakeNamecheap, namecheap.server)
    with namecheap.provider() as provider:
        # A raw setHosts without TTL / MXPref, the way a careless client would send it.
        provider._call("namecheap.domains.dns.setHosts", {
            "SLD": "example", "TLD": "com", "EmailType": "MX",
            "HostName1": "@", "RecordType1": "MX", "Address1": "mx.example.net",
            "HostName2": "www", "RecordType2": "A", "Address2": "192.0.2.1",
        })
    assert sorted(server.dump_full(ZONE)) == [
        ("example.com", "MX", "mx.example.net", "10", "1800"),
        ("www.example.com", "A", "192.0.2.1", "10", "1800"),
    ]


def test_namecheap_keeps_every_hosts_ttl_and_mx_preference(namecheap: Harness) -> None:
    server = t.cast(FakeNamecheap, namecheap.server)
    server.add_zone(ZONE, NC_VARIED)
    before = server.dump_full(ZONE)
    assert sorted(before) == sorted(NC_VARIED_FULL)

    with namecheap.provider() as provider:
        hosts = provider.ensure_records(ZONE, OURS)
    assert hosts == OUR_HOSTS

    (write,) = server.writes()
    assert params_of(write)["EmailType"] == "MX"
    after = server.dump_full(ZONE)
    # Every host of the user's, exactly as getHosts reported it, once.
    for host in before:
        assert after.count(host) == 1, f"{host} lost, duplicated or rewritten"
    # Ours beside them, and nothing else.
    ours = sorted(
        (r.name, r.type, r.value.rstrip(".") if r.type == "CNAME" else r.value, "10", str(r.ttl))
        for r in OURS
    )
    assert sorted(h for h in after if h not in before) == ours
    assert len(after) == len(before) + len(OURS)


def test_namecheap_domain_on_other_dns_is_authorization_failed(namecheap: Harness) -> None:
    namecheap.add_zone("elsewhere.example", [], using_our_dns=False)
    with namecheap.provider() as provider:
        with pytest.raises(AuthorizationFailed, match="does not use Namecheap's DNS"):
            provider.check_access("elsewhere.example")


def test_namecheap_domain_of_another_user_is_authorization_failed(namecheap: Harness) -> None:
    namecheap.add_zone("bobs.example", [], owner="bob")
    with namecheap.provider() as provider:
        with pytest.raises(AuthorizationFailed, match="2016166"):
            provider.ensure_records("bobs.example", [Record("bobs.example", "TXT", "x")])
    assert namecheap.server.writes() == []


def test_namecheap_ip_not_whitelisted_is_authorization_failed(namecheap: Harness) -> None:
    with namecheap.provider(client_ip="203.0.113.1") as provider:
        with pytest.raises(AuthorizationFailed, match="1011150"):
            provider.check_access(ZONE)


def test_namecheap_without_client_ip_says_what_to_configure(namecheap: Harness) -> None:
    with namecheap.provider(client_ip="") as provider:
        with pytest.raises(ProviderError, match="OCTETH_NAMECHEAP_CLIENT_IP"):
            provider.check_access(ZONE)
    assert namecheap.server.requests == []


def test_namecheap_retries_its_405_rate_limit_signal(namecheap: Harness) -> None:
    namecheap.server.fail(1, status=405)
    with namecheap.provider() as provider:
        provider.check_access(ZONE)
    assert len(namecheap.server.requests) == 2


def test_plan_refuses_a_cname_beside_other_wanted_records() -> None:
    with pytest.raises(ValueError):
        plan_changes(
            [Record("sl.example.com", "CNAME", "a.example."), Record("sl.example.com", "TXT", "x")],
            [],
        )


def test_an_mx_record_is_published_with_its_preference(harness: Harness) -> None:
    """A template may hold an MX record: the zone holds it with its preference, and a second call
    writes nothing."""
    mx = Record("bounce.example.com", "MX", "10 mx.mailer.delivery.example.")
    with harness.provider() as provider:
        provider.ensure_records(ZONE, [mx])
        assert [v for n, r, v in harness.dump() if (n, r) == ("bounce.example.com", "MX")] == [
            "10 mx.mailer.delivery.example"]
        harness.server.clear_requests()
        provider.ensure_records(ZONE, [mx])
    assert harness.server.writes() == []
