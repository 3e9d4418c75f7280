""""Connect with <provider>" in a real browser (Chromium, as tests/test_web_browser.py): the click
reaches the DNS provider's apply URL despite the pages' Content-Security-Policy (form-action
'self', which Chromium also applies to the redirects answering a form), the provider applies the
template and sends the user back, and the page shows the records verified."""
import pytest
from playwright.sync_api import expect

from conftest import Accounts
from test_domainconnect import ca, ca_bundle, connect_app, connect_env, provider  # noqa: F401
from test_web_browser import browser, sign_in, site  # noqa: F401  (fixtures)


@pytest.fixture
def domain_app(connect_app):  # noqa: F811  (what `site` serves)
    return connect_app


def test_connect_reaches_the_provider_and_comes_back_verified(browser, site, connect_app, provider):  # noqa: F811
    user = Accounts(connect_app).user(dns_template="Full")
    # The provider's certificate is the test CA's: Chromium is told not to mind, as it has no way
    # to trust that CA the way the service's requests do (REQUESTS_CA_BUNDLE).
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(10000)
    page = context.new_page()
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "violates" in message.text else None)
    sign_in(page, site, user)
    page.get_by_role("link", name="Set up a new sender domain").click()
    page.get_by_label("Domain you send from").fill("news.example.com")
    page.get_by_role("button", name="Add domain").click()
    page.reload()  # the first view right after a create does not check DNS, so offers no connecting
    page.get_by_role("button", name="Connect with Fake DNS").click()

    expect(page.get_by_text("all 5 DNS records verified")).to_be_visible()
    assert [applied["domain"] for applied in provider.applied] == ["example.com"]
    assert page.url.endswith("#records") and blocked == [], blocked
    context.close()

