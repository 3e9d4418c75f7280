"""The user's pages in a real browser: Playwright driving Debian's Chromium headless against the
app served over HTTP on loopback, with records published on the test DNS server (issue 6).

``OCTETH_SCREENSHOTS_DIR=docs`` keeps the screenshots of the list and edit pages (desktop and
360 px wide) that the README shows; otherwise they go to a temporary folder.
"""
import os
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import make_server

from conftest import Accounts, Api

PAGES = "/app/user/senderdomains"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
UNLABELLED = """() => Array.from(document.querySelectorAll("input:not([type=hidden]), textarea, select"))
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
    .map(el => el.name || el.id)"""


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(domain_app):
    """The app on a real HTTP server in a thread; its base URL."""
    server = make_server("127.0.0.1", 0, domain_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}{PAGES}"
    server.shutdown()
    thread.join()


@pytest.fixture
def user(domain_app):
    return Accounts(domain_app).user(dns_template="Full")


def open_page(browser, viewport=DESKTOP) -> Page:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(5000)
    return context.new_page()


def sign_in(page: Page, site: str, user: dict) -> None:
    page.goto(site + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(user["Username"])
    page.get_by_label("Password").fill(user["Password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sender domains")).to_be_visible()


def records(page: Page) -> list[tuple[str, str, str]]:
    rows = page.locator("tr.record")
    return [(row.locator("code.host").inner_text(), row.locator("td.type").inner_text(),
             row.locator("code.value").inner_text()) for row in rows.all()]


def expect_every_record(page: Page, state: str, text: str) -> None:
    for row in page.locator("tr.record").all():
        expect(row).to_have_attribute("data-state", state)
        expect(row.locator("td.result")).to_have_text(re.compile(text))


def test_a_user_sets_up_a_domain_from_start_to_finish(browser, site, user, dns):
    page = open_page(browser)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, site, user)

    page.get_by_role("link", name="Set up a new sender domain").click()
    page.get_by_label("Domain you send from").fill("example.com")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name="example.com")).to_be_visible()
    expect(page.locator("tr.record")).to_have_count(5)
    expect_every_record(page, "unchecked", "Not checked yet")
    expect(page.locator(".current-status")).to_have_text("Status: Approval Pending")

    # The copy-all button puts the plain-text set on the clipboard.
    page.get_by_role("button", name="Copy all records").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#zone-text").input_value() and copied.count("\n") == 4

    for host, kind, value in records(page):
        dns.add_record(host, kind, value)
    page.get_by_role("button", name="Verify DNS records").click()
    expect_every_record(page, "verified", "Verified")
    expect(page.locator(".current-status")).to_have_text("Status: Enabled")
    expect(page.locator(".flash").first).to_have_text("example.com: all 5 DNS records verified; status Enabled.")

    # The preview follows the fields as they are typed, and warns that the records will change.
    subdomain = page.get_by_label("Custom subdomain")
    warning = page.locator("#regenerate-warning")
    expect(page.locator("#preview-mfrom")).to_have_text("sl.example.com")
    expect(warning).to_be_hidden()
    subdomain.fill("SL")  # the default in other letters: the same hosts, stored in lower case
    expect(page.locator("#preview-mfrom")).to_have_text("sl.example.com")
    expect(warning).to_be_hidden()
    subdomain.fill("Mail")
    expect(page.locator("#preview-mfrom")).to_have_text("mail.example.com")
    subdomain.fill("mail")
    expect(page.locator("#preview-mfrom")).to_have_text("mail.example.com")
    expect(page.locator("#preview-track")).to_have_text("track-mail.example.com")
    expect(warning).to_be_visible()
    page.get_by_label("Use a separate tracking subdomain").uncheck()
    expect(page.locator("#preview-track")).to_have_text(re.compile("^none"))
    page.get_by_label("Use a separate tracking subdomain").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash").first).to_contain_text("The DNS records were regenerated")
    expect(page.locator("code.host").first).to_have_text("mail.example.com")
    expect(page.locator(".current-status")).to_have_text("Status: Approval Pending")
    expect_every_record(page, "unchecked", "Not checked yet")

    # A form posted without the page's token is refused, even from the site's own origin.
    page.evaluate("""() => {
        const form = Object.assign(document.createElement("form"), {method: "post", action: "new"});
        form.append(Object.assign(document.createElement("input"), {name: "SenderDomain", value: "forged.example"}));
        document.body.append(form);
        form.submit();
    }""")
    expect(page.get_by_role("heading", name="Request refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("security token (CSRF)")

    page.goto(site + "/")
    expect(page.get_by_role("link", name="forged.example")).to_have_count(0)
    page.get_by_label("Select example.com").check()
    page.get_by_role("button", name="Delete selected").click()
    expect(page.get_by_role("heading", name="Delete 1 sender domain?")).to_be_visible()
    page.get_by_role("button", name="Delete it").click()
    expect(page.locator(".flash")).to_have_text("Deleted: example.com.")
    expect(page.get_by_text("You have no sender domains yet.")).to_be_visible()
    page.context.close()


def test_pages_fit_desktop_and_a_360_pixel_screen(browser, site, domain_app, user, dns, tmp_path):
    shots = Path(os.environ.get("OCTETH_SCREENSHOTS_DIR") or tmp_path)
    api = Api(domain_app, user["APIKey"])
    created = {}
    for name in ("example.com", "news.example.org", "shop.example.net"):
        _, body = api.create(SenderDomain=name)
        created[name] = (body["DomainID"], list(body["SenderDomain"]["VerificationMeta"]["DNSRecords"].items()))
    for name, published in (("example.com", 5), ("shop.example.net", 5), ("news.example.org", 3)):
        for host, (kind, value) in created[name][1][:published]:
            dns.add_record(host, kind, value)
    # Playwright's sync API runs an event loop on this thread: the verifies must still probe.
    assert api.verify(DomainID=created["example.com"][0])[1]["IsVerified"] is True
    assert api.verify(DomainID=created["shop.example.net"][0])[1]["IsVerified"] is True
    api.update(DomainID=created["shop.example.net"][0], Status="Disabled")

    for label, viewport in (("desktop", DESKTOP), ("360", PHONE)):
        page = open_page(browser, viewport)
        sign_in(page, site, user)
        for name, path in (("list", "/"), ("edit", f"/{created['news.example.org'][0]}")):
            page.goto(site + path)
            page.locator("body").focus()
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], (name, label)
            assert page.evaluate(UNLABELLED) == [], name
            page.screenshot(path=str(shots / f"web-{name}-{label}.png"), full_page=True)
        expect(page.locator("tr.record[data-state=verified]")).to_have_count(3)
        expect(page.locator("tr.record[data-state=failed]")).to_have_count(2)
        page.context.close()


def test_a_wrong_record_shows_its_reason_what_was_found_and_the_hint(browser, site, domain_app, user, dns, tmp_path):
    shots = Path(os.environ.get("OCTETH_SCREENSHOTS_DIR") or tmp_path)
    api = Api(domain_app, user["APIKey"])
    _, body = api.create(SenderDomain="newsletter.example.com")
    records_ = body["SenderDomain"]["VerificationMeta"]["DNSRecords"]
    wrong = "key1._domainkey.sl.newsletter.example.com"
    for host, (kind, value) in records_.items():
        dns.add_record(host, kind, "key1.someone-else.example." if host == wrong else value)
    dns.add_record("_dmarc.newsletter.example.com", "TXT", "v=DMARC1; p=none")
    dns.remove("_dmarc.newsletter.example.com")  # no DMARC: the health box warns
    dns.add_record("newsletter.example.com", "MX", "10 mx.example.com.")

    page = open_page(browser)
    sign_in(page, site, user)
    page.goto(site + f"/{body['DomainID']}")
    expect(page.locator("tr.record[data-state=failed]")).to_have_count(1)
    diagnosis = page.locator(f'tr.diagnosis[data-host="{wrong}"]')
    expect(diagnosis).to_have_attribute("data-reason", "wrong_value")
    expect(diagnosis.locator(".reason")).to_contain_text("Found with another value")
    expect(diagnosis.locator("code.found")).to_have_text("key1.someone-else.example.")
    expect(diagnosis.locator(".hint")).to_have_text(
        "Change the CNAME record at key1._domainkey.sl.newsletter to point to "
        "key1._domainkey.mailer.delivery.example instead of key1.someone-else.example.")
    expect(page.locator("tr.diagnosis")).to_have_count(1)  # nothing under the records that passed
    # The copyable host is relative to the zone, the full name beside it.
    failed = page.locator("tr.record[data-state=failed]")
    expect(failed.locator("code.host-relative")).to_have_text("key1._domainkey.sl.newsletter")
    expect(failed.locator("code.host")).to_have_text(wrong)
    expect(page.locator(".health-box li[data-check=DMARC]")).to_contain_text(
        "Gmail and Yahoo require a DMARC record from bulk senders")
    page.screenshot(path=str(shots / "web-edit-diagnostics.png"), full_page=True)
    page.context.close()
