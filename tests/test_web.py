"""The user's pages under /app/user/senderdomains/ through Flask's test client: sign-in and its
cookie, CSRF refusals, escaping of hostile names and messages, every page answering, and each
action reaching the same commands as the API (SPEC §5, §7; issue 6)."""
import re
from http.cookies import SimpleCookie

import pytest

from conftest import Accounts, Api
from helpers import insert_domain
from provider_servers.cloudflare import FakeCloudflare
from octeth_domains.api.envelope import APIError
from octeth_domains.web import calls

PAGES = "/app/user/senderdomains"
HOSTILE = '<script>alert("x")</script>'
CF_TOKEN = "cfWebTokenS3cretValue_0123456789"


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Visitor:
    """A browser stand-in: one test client, its cookie, and the CSRF token its pages carry."""

    def __init__(self, app, base_url: str = "http://localhost") -> None:
        self.client = app.test_client()
        self.base_url = base_url
        self.token = csrf_token(self.get("/login").get_data(as_text=True))

    def get(self, path: str):
        return self.client.get(PAGES + path, base_url=self.base_url)

    def post(self, path: str, data: dict | None = None, csrf: bool = True):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        return self.client.post(PAGES + path, data=data, base_url=self.base_url)

    def sign_in(self, user: dict):
        response = self.post("/login", {"username": user["Username"], "password": user["Password"]})
        assert response.status_code == 302 and response.headers["Location"].endswith(PAGES + "/")
        self.token = csrf_token(self.get("/").get_data(as_text=True))  # a new one after sign-in
        return response


def text(response) -> str:
    return response.get_data(as_text=True)


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', html, re.S)


@pytest.fixture
def user(domain_app):
    return Accounts(domain_app).user(dns_template="Full")


@pytest.fixture
def visitor(domain_app, user):
    visitor = Visitor(domain_app)
    visitor.sign_in(user)
    return visitor


def create(visitor, name="example.com") -> int:
    response = visitor.post("/new", {"SenderDomain": name})
    assert response.status_code == 302, text(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def records_on_page(html: str) -> list[tuple[str, str, str, str]]:
    """(host, type, value, check state) of each row of the records table."""
    rows = re.findall(r'<tr class="record" data-state="(\w+)">.*?<code class="host">(.*?)</code>.*?'
                      r'class="type">(.*?)</td>.*?<code class="value">(.*?)</code>', html, re.S)
    return [(host, kind, value, state) for state, host, kind, value in rows]


def publish(dns, rows) -> None:
    for host, kind, value, _ in rows:
        dns.add_record(host, kind, value)


def status_on_page(html: str) -> str:
    return re.search(r'class="current-status">Status: <span class="badge [\w-]+">(.*?)</span>', html).group(1)


# Sign-in and the cookie ------------------------------------------------------------------------

def test_pages_need_a_signed_in_user(domain_app):
    visitor = Visitor(domain_app)
    for path in ("/", "/new", "/1", "/1/auto"):
        response = visitor.get(path)
        assert response.status_code == 302 and response.headers["Location"] == f"{PAGES}/login", path
    assert visitor.post("/new", {"SenderDomain": "example.com"}).headers["Location"] == f"{PAGES}/login"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_session_cookie_flags(domain_app, user, scheme):
    visitor = Visitor(domain_app, base_url=f"{scheme}://localhost")
    header = visitor.sign_in(user).headers["Set-Cookie"]
    cookie = SimpleCookie(header)["octeth_web"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == PAGES
    assert bool(cookie["secure"]) is (scheme == "https")
    assert user["Password"] not in header


def test_wrong_password_is_refused_with_the_commands_message(domain_app, user):
    visitor = Visitor(domain_app)
    response = visitor.post("/login", {"username": user["Username"], "password": "not-it"})
    assert response.status_code == 200 and "Invalid login information" in text(response)
    assert "not-it" not in text(response)
    assert visitor.get("/").status_code == 302


def test_sign_out_ends_the_api_session(domain_app, visitor):
    cookie = visitor.client.get_cookie("octeth_web", path=PAGES)
    response = visitor.post("/logout")
    assert response.headers["Location"] == f"{PAGES}/login"
    assert visitor.get("/").status_code == 302
    # The old cookie still names the session id: user.logout ended it, so it no longer opens a page.
    visitor.client.set_cookie("octeth_web", cookie.value, path=PAGES)
    response = visitor.get("/")
    assert response.status_code == 302 and response.headers["Location"] == f"{PAGES}/login"
    assert "Your session has ended" in text(visitor.get("/login"))


# CSRF -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_state_changing_requests_without_the_token_are_refused(domain_app, user, visitor, token):
    data = {"SenderDomain": "example.com"}
    if token is not None:
        data["csrf_token"] = token
    response = visitor.post("/new", data, csrf=False)
    assert response.status_code == 400
    assert "security token (CSRF)" in text(response)
    _, body = Api(domain_app, user["APIKey"]).list()
    assert body["SenderDomains"] == []


def test_a_token_from_another_session_is_refused(domain_app, user, visitor):
    other = Visitor(domain_app)
    response = visitor.post("/new", {"SenderDomain": "example.com", "csrf_token": other.token}, csrf=False)
    assert response.status_code == 400


def test_sign_in_needs_the_token_too(domain_app, user):
    visitor = Visitor(domain_app)
    response = visitor.post("/login", {"username": user["Username"], "password": user["Password"]}, csrf=False)
    assert response.status_code == 400 and visitor.get("/").status_code == 302


# Every page -----------------------------------------------------------------------------------

def test_every_page_answers(domain_app, visitor):
    assert visitor.get("/").status_code == 200  # empty list
    assert visitor.get("/new").status_code == 200
    domain_id = create(visitor)
    pages = [
        ("/", "example.com"),
        (f"/{domain_id}", "Verify DNS records"),
        (f"/{domain_id}/auto", "Publish the records by hand"),
        ("/static/app.css", "@media"),
        ("/static/app.js", "setUpPreview"),
    ]
    for path, expected in pages:
        response = visitor.get(path)
        assert response.status_code == 200, path
        assert expected in text(response), path
    confirm = visitor.post("/delete", {"DomainID": str(domain_id)})
    assert confirm.status_code == 200 and "Delete 1 sender domain?" in text(confirm)
    assert visitor.get("/999999").status_code == 404


def test_pages_send_protective_headers(visitor):
    response = visitor.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# Escaping -------------------------------------------------------------------------------------

def test_a_hostile_domain_name_never_becomes_markup(domain_app, user, visitor):
    name = f"{HOSTILE}.example.com"
    domain_id = insert_domain(domain_app, user["UserID"], name, status="Approval Pending",
                              records={f"sl.{name}": ["CNAME", f"{HOSTILE}.", None]})
    pages = [visitor.get("/"), visitor.get(f"/{domain_id}"), visitor.post("/delete", {"DomainID": str(domain_id)}),
             visitor.post(f"/{domain_id}/verify", {"name": name}), visitor.get("/")]
    for response in pages:
        assert "<script>alert" not in text(response)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;.example.com" in text(pages[0])
    assert f"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;.example.com: 1 of 1 DNS records not verified yet" \
        in text(pages[-1])


def test_hostile_error_text_never_becomes_markup(domain_app, visitor, monkeypatch):
    real_call = calls.doors.call

    def refusing(command, **params):
        if command == "user.senderdomain.create":
            raise APIError(7, f"Refused {HOSTILE}", 400)
        return real_call(command, **params)

    monkeypatch.setattr(calls.doors, "call", refusing)
    response = visitor.post("/new", {"SenderDomain": HOSTILE})
    assert response.status_code == 400
    assert "<script>" not in text(response)
    assert "Refused &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text(response)
    assert 'value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"' in text(response)


# The edit page --------------------------------------------------------------------------------

def test_records_are_shown_unchecked_then_verified_on_load(domain_app, visitor, dns):
    domain_id = create(visitor)
    page = text(visitor.get(f"/{domain_id}"))
    rows = records_on_page(page)
    assert len(rows) == 5 and {state for *_, state in rows} == {"unchecked"}
    assert "example.com was added" in page and status_on_page(page) == "Approval Pending"
    publish(dns, rows)
    page = text(visitor.get(f"/{domain_id}"))  # verifies on load
    assert {state for *_, state in records_on_page(page)} == {"verified"}
    assert status_on_page(page) == "Enabled"
    zone = re.search(r'<textarea id="zone-text"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert len(zone.splitlines()) == 5 and "sl.example.com.\tIN\tCNAME\tmailer.delivery.example." in zone


def test_verify_button_reports_each_outcome(domain_app, visitor, dns):
    domain_id = create(visitor)
    rows = records_on_page(text(visitor.get(f"/{domain_id}")))
    publish(dns, rows[:3])
    response = visitor.post(f"/{domain_id}/verify", {"name": "example.com"})
    assert response.headers["Location"] == f"{PAGES}/{domain_id}#records"
    page = text(visitor.get(f"/{domain_id}"))
    assert "example.com: 2 of 5 DNS records not verified yet; status Approval Pending." in flashes(page)
    assert [state for *_, state in records_on_page(page)] == ["verified"] * 3 + ["failed"] * 2


def checkboxes(html: str) -> str:
    """The settings form's list of the checkboxes it shows (an unticked one sends nothing)."""
    return re.search(r'<input type="hidden" name="checkboxes" value="([^"]+)">', html).group(1)


def test_changing_the_subdomain_regenerates_the_records(domain_app, visitor, dns):
    domain_id = create(visitor)
    publish(dns, records_on_page(text(visitor.get(f"/{domain_id}"))))
    page = text(visitor.get(f"/{domain_id}"))
    assert status_on_page(page) == "Enabled"
    settings = {"LinkTracking": "1", "OpenTracking": "1", "UseTrackingSubdomain": "1", "CustomSubdomain": "mail",
                "checkboxes": checkboxes(page)}
    visitor.post(f"/{domain_id}/settings", settings)
    page = text(visitor.get(f"/{domain_id}"))
    assert "The DNS records were regenerated" in page
    hosts = [host for host, *_ in records_on_page(page)]
    assert hosts[:4] == ["mail.example.com", "key1._domainkey.mail.example.com", "_DMARC.mail.example.com",
                         "track-mail.example.com"]
    assert status_on_page(page) == "Approval Pending"

    visitor.post(f"/{domain_id}/settings", settings)
    assert "Nothing to save" in text(visitor.get(f"/{domain_id}"))
    visitor.post(f"/{domain_id}/settings", {**settings, "CustomSubdomain": ""})  # back to the default
    assert records_on_page(text(visitor.get(f"/{domain_id}")))[0][0] == "sl.example.com"


def test_switches_change_without_regenerating(domain_app, user, visitor):
    domain_id = create(visitor)
    page = text(visitor.get(f"/{domain_id}"))
    before = records_on_page(page)
    visitor.post(f"/{domain_id}/settings", {"UnsubscribeLink": "1", "UseTrackingSubdomain": "1",
                                            "checkboxes": checkboxes(page)})
    page = text(visitor.get(f"/{domain_id}"))
    assert "Saved." in flashes(page)
    assert [row[:3] for row in records_on_page(page)] == [row[:3] for row in before]
    _, body = Api(domain_app, user["APIKey"]).get(DomainID=domain_id)
    assert body["SenderDomain"]["Options"] == {"LinkTracking": 0, "OpenTracking": 0, "UnsubscribeLink": 1}


@pytest.mark.parametrize("sent", [
    {},  # the token alone
    {"LinkTracking": "1"},
    {"CustomSubdomain": "mail"},
    {"checkboxes": "", "CustomTrackPrefix": "clicks"},
    {"checkboxes": "Nonsense,UseTrackingSubdomain"},
    {"CustomSubdomain": "em", "CustomTrackPrefix": "tk"},  # a page from before the list: every box unticked
])
def test_a_settings_post_changes_only_the_fields_it_carries(domain_app, user, visitor, sent):
    api = Api(domain_app, user["APIKey"])
    created = api.create(SenderDomain="example.com", CustomSubdomain="em", CustomTrackPrefix="tk", LinkTracking=1,
                         OpenTracking=1)[1]
    domain_id = created["DomainID"]
    before = api.get(DomainID=domain_id)[1]["SenderDomain"]
    visitor.post(f"/{domain_id}/settings", sent)
    after = api.get(DomainID=domain_id)[1]["SenderDomain"]
    expected = dict(before["Options"])
    if "CustomSubdomain" in sent:
        expected["CustomSubdomain"] = sent["CustomSubdomain"]
    if "CustomTrackPrefix" in sent:
        expected["CustomTrackPrefix"] = sent["CustomTrackPrefix"]
    whole_old_form = "checkboxes" not in sent and {"CustomSubdomain", "CustomTrackPrefix"} <= set(sent)
    if "UseTrackingSubdomain" in sent.get("checkboxes", "") or whole_old_form:
        expected["TrackPrefixDisabled"] = True  # named and not ticked: off
    if whole_old_form:
        expected["LinkTracking"] = expected["OpenTracking"] = 0
    assert after["Options"] == expected
    if expected == before["Options"]:
        assert after["VerificationMeta"] == before["VerificationMeta"]  # the records were not regenerated


def test_an_invalid_label_shows_the_commands_message(domain_app, visitor):
    domain_id = create(visitor)
    visitor.post(f"/{domain_id}/settings", {"CustomSubdomain": "-bad-", "UseTrackingSubdomain": "1"})
    assert "Invalid CustomSubdomain." in text(visitor.get(f"/{domain_id}"))


def test_pause_and_enable(domain_app, visitor, dns):
    domain_id = create(visitor)
    page = text(visitor.get(f"/{domain_id}"))
    assert 'value="Disabled">Pause' not in page  # nothing to pause before the records pass
    publish(dns, records_on_page(page))
    assert 'value="Disabled">Pause' in text(visitor.get(f"/{domain_id}"))
    visitor.post(f"/{domain_id}/status", {"Status": "Disabled"})
    page = text(visitor.get(f"/{domain_id}"))
    assert status_on_page(page) == "Disabled" and "Sending from this domain is paused." in flashes(page)
    visitor.post(f"/{domain_id}/status", {"Status": "Enabled"})
    assert status_on_page(text(visitor.get(f"/{domain_id}"))) == "Enabled"


def test_a_refused_status_change_shows_why(domain_app, visitor):
    domain_id = create(visitor)
    visitor.post(f"/{domain_id}/status", {"Status": "Disabled"})
    assert "Cannot disable an unverified (Approval Pending) domain" in text(visitor.get(f"/{domain_id}"))


# Create and delete ----------------------------------------------------------------------------

def test_an_invalid_domain_keeps_the_form(visitor):
    response = visitor.post("/new", {"SenderDomain": "not a domain"})
    assert response.status_code == 400
    assert "Sender domain create process failed" in text(response) and 'value="not a domain"' in text(response)
    assert "letters, digits and inner hyphens" in text(response)  # the Reason: which rule it broke
    response = visitor.post("/new", {"SenderDomain": "example.com\u3002"})
    assert response.status_code == 400 and "separated by &#39;.&#39; only" in text(response)


def test_delete_asks_first(domain_app, user, visitor):
    first, second, kept = create(visitor, "one.example"), create(visitor, "two.example"), create(visitor, "three.example")
    confirm = text(visitor.post("/delete", {"DomainID": [str(first), str(second)]}))
    chosen = re.search(r'<ul class="chosen">(.*?)</ul>', confirm, re.S).group(1)
    assert re.findall(r"<strong>(.*?)</strong>", chosen) == ["one.example", "two.example"]
    api = Api(domain_app, user["APIKey"])
    assert len(api.list()[1]["SenderDomains"]) == 3  # nothing deleted until confirmed
    visitor.post("/delete", {"DomainID": [str(first), str(second)], "confirmed": "yes"})
    assert "Deleted: one.example, two.example." in flashes(text(visitor.get("/")))
    assert [d["DomainID"] for d in api.list()[1]["SenderDomains"]] == [str(kept)]


def test_deleting_many_keeps_the_messages_within_a_cookie(domain_app, user, visitor):
    long = "a" * 60 + "." + "b" * 60 + ".example"
    deletable = [insert_domain(domain_app, user["UserID"], f"d{i}.{long}") for i in range(40)]
    kept = [insert_domain(domain_app, user["UserID"], f"s{i}.{long}", status="Suspended") for i in range(12)]
    response = visitor.post("/delete", {"DomainID": [str(i) for i in deletable + kept], "confirmed": "yes"})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert len(cookie) < 4093, len(cookie)
    shown = flashes(text(visitor.get("/")))
    assert shown[0] == f"Deleted: {', '.join(f'd{i}.{long}' for i in range(5))} and 35 more."
    assert shown[1].startswith(f"{', '.join(f's{i}.{long}' for i in range(5))} and 7 more: ")
    assert len(shown) == 2
    listed = Api(domain_app, user["APIKey"]).list()[1]["SenderDomains"]
    assert sorted(int(d["DomainID"]) for d in listed) == kept


def test_delete_needs_a_selection(visitor):
    visitor.post("/delete", {})
    assert "Select at least one sender domain to delete." in flashes(text(visitor.get("/")))


def test_someone_elses_domain_is_not_found(domain_app, visitor):
    other = Visitor(domain_app)
    other.sign_in(Accounts(domain_app).user())
    domain_id = create(other)
    assert visitor.get(f"/{domain_id}").status_code == 404
    visitor.post("/delete", {"DomainID": str(domain_id), "confirmed": "yes"})
    assert other.get(f"/{domain_id}").status_code == 200


@pytest.mark.parametrize("method, path, status", [("GET", "/nope", 404), ("GET", "/-1", 404), ("GET", "/1/nope", 404),
                                                  ("GET", "/logout", 405), ("PUT", "/", 405), ("GET", "//x", 404)])
def test_a_path_or_method_the_pages_do_not_have_is_a_page_not_the_apis_json(visitor, method, path, status):
    response = visitor.client.open(PAGES + path, method=method, base_url=visitor.base_url)
    assert response.status_code == status and response.mimetype == "text/html", response.get_data()[:200]
    assert "ErrorCode" not in response.get_data(as_text=True)
    assert "Back to your sender domains" in response.get_data(as_text=True)


# Set up automatically -------------------------------------------------------------------------

@pytest.fixture
def cloudflare():
    server = FakeCloudflare(tokens={CF_TOKEN: None}).start()
    server.add_zone("example.com")
    yield server
    server.stop()


@pytest.fixture
def cloudflare_app(make_app, templates_file, dns, cloudflare):
    host, port = dns.address
    dns.add_zone("example.com")
    dns.set_record("example.com", "NS", "ana.ns.cloudflare.com.")
    return make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                    OCTETH_DNS_TIMEOUT="1", OCTETH_PROVIDER_TIMEOUT="2", OCTETH_CLOUDFLARE_API_URL=cloudflare.url)


def test_set_up_automatically_asks_only_the_providers_credentials(cloudflare_app, cloudflare):
    visitor = Visitor(cloudflare_app)
    visitor.sign_in(Accounts(cloudflare_app).user(dns_template="Full"))
    domain_id = create(visitor)
    form = text(visitor.get(f"/{domain_id}/auto"))
    assert "hosted at <strong class=\"provider\">Cloudflare</strong>" in form
    assert re.findall(r'<input id="(\w+)" name="\w+" type="(\w+)"', form) == [("Api_key", "password")]

    refused = visitor.post(f"/{domain_id}/auto", {"Provider": "cloudflare", "Api_key": "wrongSecretValue99"})
    assert refused.status_code == 400 and "Failed to set DNS records" in text(refused)
    assert "wrongSecretValue99" not in text(refused)

    published = visitor.post(f"/{domain_id}/auto", {"Provider": "cloudflare", "Api_key": CF_TOKEN})
    assert published.headers["Location"] == f"{PAGES}/{domain_id}#records"
    page = text(visitor.get(f"/{domain_id}"))
    assert "5 DNS records are published at Cloudflare." in flashes(page)
    assert "example.com: 5 of 5 DNS records not verified yet" in page  # the fake does not serve DNS
    assert CF_TOKEN not in text(published) + page
    assert len(cloudflare.dump("example.com")) == 5


def test_set_up_automatically_without_a_known_provider(domain_app, visitor):
    domain_id = create(visitor)
    page = text(visitor.get(f"/{domain_id}/auto"))
    assert "Unable to determine DNS provider for this domain" in page and "<form method=\"post\" action" not in \
        page.split("</header>")[1]
    response = visitor.post(f"/{domain_id}/auto", {"Provider": HOSTILE, "Api_key": "x"})
    assert response.status_code == 400 and "not available for this DNS provider" in text(response)
    assert "<script>" not in text(response)


@pytest.fixture
def exampledns():
    from provider_servers.exampledns import FakeExampleDNS

    server = FakeExampleDNS(accounts={("exTokenS3cretValue_77", "acme"): {"example.com"}}).start()
    server.add_zone("example.com", [("example.com", "MX", "10 mx1.example.net")])
    yield server
    server.stop()


@pytest.fixture
def picker_app(make_app, templates_file, dns, exampledns):
    host, port = dns.address
    dns.add_zone("example.com")
    dns.set_record("example.com", "NS", "ns1.boutique-host.example.")  # a provider no module knows
    return make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                    OCTETH_DNS_TIMEOUT="1", OCTETH_PROVIDER_TIMEOUT="2", OCTETH_PROVIDER_MODULES="example_provider",
                    OCTETH_EXAMPLEDNS_API_URL=exampledns.url)


def choices(html: str) -> list[str]:
    return re.findall(r'<option value="(\w+)">', html)


def offered(app, html: str) -> bool:
    """The list holds every provider the service drives and can reach, by label, and no other:
    not PowerDNS without its URL, not one it only recognises (Hover, Azure DNS), not one whose
    extra is not installed (Route 53 without boto3)."""
    providers = app.extensions["octeth_providers"]
    expected = sorted((info for info in providers.values()
                       if info.drivable and app.config[info.api_url_setting] and info.unavailable() is None),
                      key=lambda info: info.label.lower())
    found = choices(html)
    assert {"cloudflare", "godaddy", "namecheap"} <= set(found) and not {"powerdns", "hover", "azure"} & set(found)
    assert ("route53" in found) == (providers["route53"].unavailable() is None)
    return found == [info.name for info in expected]


def test_an_undetected_provider_is_picked_from_the_list_and_asks_only_its_credentials(picker_app, exampledns):
    visitor = Visitor(picker_app)
    visitor.sign_in(Accounts(picker_app).user(dns_template="Full"))
    domain_id = create(visitor)
    page = text(visitor.get(f"/{domain_id}/auto"))
    assert "Unable to determine DNS provider for this domain" in page
    assert offered(picker_app, page) and "exampledns" in choices(page)

    form = text(visitor.get(f"/{domain_id}/auto?provider=exampledns"))
    assert "hosted at <strong class=\"provider\">ExampleDNS</strong>" in form
    assert "under Account, Tokens, create a token" in form  # the module's `where`
    assert re.findall(r'<label for="(\w+)">([^<]+)</label>\s*<input id="\w+" name="\w+" type="(\w+)"', form) == [
        ("Api_key", "ExampleDNS Access token", "password"), ("Username", "ExampleDNS Account name", "text")]
    assert choices(form) == []  # the choice is made

    published = visitor.post(f"/{domain_id}/auto", {"Provider": "exampledns", "Api_key": "exTokenS3cretValue_77",
                                                    "Username": "acme"})
    assert published.headers["Location"] == f"{PAGES}/{domain_id}#records", text(published)
    assert "5 DNS records are published at ExampleDNS." in flashes(text(visitor.get(f"/{domain_id}")))
    assert len(exampledns.dump("example.com")) == 6


@pytest.mark.parametrize("provider", ["hover", "powerdns", "nosuchprovider", HOSTILE, ""])
def test_a_provider_the_page_cannot_drive_is_refused_with_400(picker_app, provider):
    visitor = Visitor(picker_app)
    visitor.sign_in(Accounts(picker_app).user(dns_template="Full"))
    domain_id = create(visitor)
    for response in (visitor.get(f"/{domain_id}/auto?provider={provider}"),
                     visitor.post(f"/{domain_id}/auto", {"Provider": provider, "Api_key": "x", "Username": "y"})):
        assert response.status_code == 400
        assert "Automatic set-up is not available for this DNS provider." in text(response)
        assert "<script>alert" not in text(response) and 'name="Api_key"' not in text(response)
        assert offered(picker_app, text(response))


def test_a_detected_provider_the_service_cannot_drive_is_named_and_the_list_offered(domain_app, visitor, dns):
    dns.add_zone("example.com")
    dns.set_record("example.com", "NS", "ns1.hover.com.")
    domain_id = create(visitor)
    page = text(visitor.get(f"/{domain_id}/auto"))
    assert "hosted at <strong class=\"provider\">Hover</strong>" in page and "cannot set up automatically" in page
    assert offered(domain_app, page) and "exampledns" not in choices(page)


# The rate limit -------------------------------------------------------------------------------

def test_pages_share_the_apis_rate_limit(make_app, templates_file, dns):
    host, port = dns.address
    app = make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                   OCTETH_RATE_LIMIT="4 per 60 seconds")
    user = Accounts(app).user()
    visitor = Visitor(app)
    visitor.sign_in(user)  # the sign-in is counted against the address, the list against the user
    statuses = [visitor.get("/").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
    response = visitor.get("/")
    assert "Rate limit exceeded" in text(response) and int(response.headers["Retry-After"]) >= 1
    assert Api(app, user["APIKey"]).list()[0] == 429  # one bucket for the pages and the API


def test_templates_write_text_utf8_can_carry(domain_app):
    # A lone surrogate (JSON's "\ud800", from a provider's or a DNS answer) would fail the page when
    # it is encoded; Markup, the templates' own escaped text, passes as it is.
    from flask import render_template_string
    from markupsafe import Markup

    with domain_app.test_request_context():
        page = render_template_string("{{ a }}|{{ b }}|{{ c }}|{{ d }}", a="x\ud800y", b=Markup("<b>ok</b>"),
                                      c="<i>", d=5)
    assert page == "x?y|<b>ok</b>|&lt;i&gt;|5"
    page.encode("utf-8")
