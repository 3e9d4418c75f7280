"""The automatic set-up page in a real browser (Chromium, as tests/test_web_browser.py): a domain
whose DNS provider cannot be found; the user picks theirs from the list, the form asks for that
provider's credentials only, and the records are published at its (fake) API."""
import pytest
from playwright.sync_api import expect

from conftest import Accounts
from provider_servers.exampledns import FakeExampleDNS
from test_web_browser import browser, open_page, sign_in, site  # noqa: F401  (fixtures)

TOKEN, ACCOUNT = "exTokenS3cretValue_77", "acme"


@pytest.fixture
def exampledns():
    server = FakeExampleDNS(accounts={(TOKEN, ACCOUNT): {"example.com"}}).start()
    server.add_zone("example.com", [("example.com", "MX", "10 mx1.example.net")])
    yield server
    server.stop()


@pytest.fixture
def domain_app(make_app, templates_file, dns, exampledns):
    """Replaces conftest's for `site`: our test provider registered, the domain's NS unknown."""
    host, port = dns.address
    dns.add_zone("example.com")
    dns.set_record("example.com", "NS", "ns1.boutique-host.example.")
    return make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                    OCTETH_DNS_TIMEOUT="1", OCTETH_PROVIDER_TIMEOUT="2", OCTETH_PROVIDER_MODULES="example_provider",
                    OCTETH_EXAMPLEDNS_API_URL=exampledns.url)


def test_the_user_picks_the_provider_and_gives_only_its_credentials(browser, site, domain_app, exampledns):  # noqa: F811
    user = Accounts(domain_app).user(dns_template="Full")
    page = open_page(browser)
    sign_in(page, site, user)
    page.get_by_role("link", name="Set up a new sender domain").click()
    page.get_by_label("Domain you send from").fill("example.com")
    page.get_by_role("button", name="Add domain").click()
    page.get_by_role("link", name="Set up automatically").click()

    expect(page.get_by_role("alert")).to_contain_text("Unable to determine DNS provider for this domain")
    picker = page.get_by_label("Or, if your DNS is hosted at one of these, choose it")
    labels = picker.locator("option").all_inner_texts()
    assert labels[0] == "Your DNS provider…" and labels[1:] == sorted(labels[1:], key=str.lower)
    assert {"Cloudflare", "ExampleDNS", "GoDaddy", "Namecheap"} <= set(labels) and "PowerDNS" not in labels
    expect(page.locator("input[type=password]")).to_have_count(0)  # no credentials before the choice
    picker.select_option(label="ExampleDNS")
    page.get_by_role("button", name="Continue").click()

    expect(page.locator("strong.provider")).to_have_text("ExampleDNS")
    expect(page.locator("p.where")).to_have_text(
        "In the ExampleDNS console, under Account, Tokens, create a token that may edit your zones.")
    expect(page.locator("form.stack input:not([type=hidden])")).to_have_count(2)
    page.get_by_label("ExampleDNS Access token").fill("wrongSecretValue99")
    page.get_by_label("ExampleDNS Account name").fill(ACCOUNT)
    page.get_by_role("button", name="Publish the records").click()
    expect(page.get_by_role("alert")).to_contain_text("Failed to set DNS records for this domain")
    expect(page.get_by_label("ExampleDNS Access token")).to_have_value("")  # never written back

    page.get_by_label("ExampleDNS Access token").fill(TOKEN)
    page.get_by_label("ExampleDNS Account name").fill(ACCOUNT)
    page.get_by_role("button", name="Publish the records").click()
    expect(page.get_by_role("heading", name="example.com")).to_be_visible()
    expect(page.locator(".flash").first).to_have_text("5 DNS records are published at ExampleDNS.")
    assert len(exampledns.dump("example.com")) == 6
    page.context.close()
