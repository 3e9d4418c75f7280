"""The page shows internationalised names in Unicode, wraps long names between labels at 360 px,
and its custom-label preview refuses exactly what the server refuses (Chromium, Playwright)."""
import pytest
from playwright.sync_api import expect

from conftest import Api
from test_web_browser import PHONE, browser, open_page, sign_in, site, user  # noqa: F401  (fixtures)

LONG_IDN = "bücher-verlag.straße-der-bücher.druckerei-köln.zeitschriften.beispiel-verlag.example"
WORDS = "sehr-lange-namen.die-umbrechen.muessen-sauber.zwischen-labels.nicht-mittendrin.example"

# Each label pair, and whether the server takes it (code 6 otherwise).
LABELS = [
    ("em", "tr", True),
    ("-em", "", False),
    ("em-", "", False),
    ("e m", "", False),
    (" em", "", False),
    ("a" * 33, "", False),
    ("", "ü", False),
    ("a" * 32, "b" * 32, False),  # the tracking label would be 65 octets
    ("a" * 31, "b" * 31, True),   # 63: the most a label may hold
    ("a" * 32, "", True),
]


def test_idn_is_shown_in_unicode_and_wraps_between_labels_at_360_px(browser, site, domain_app, user):
    api = Api(domain_app, user["APIKey"])
    status, created = api.create(SenderDomain=LONG_IDN)
    stored = created["SenderDomain"]["SenderDomain"]
    assert stored.startswith("xn--") and "ü" not in stored
    _, other = api.create(SenderDomain=WORDS)
    page = open_page(browser, PHONE)
    sign_in(page, site, user)
    link = page.get_by_role("link", name=LONG_IDN)
    expect(link).to_be_visible()
    assert link.get_attribute("title") == stored
    for path, selector in (("/", f"td.name a[title='{stored}']"), (f"/{created['DomainID']}", "h1.domain-name"),
                           ("/", f"td.name a[title='{WORDS}']"), (f"/{other['DomainID']}", "h1.domain-name")):
        page.goto(site + path)
        name = page.locator(selector)
        expect(name).to_be_visible()
        lines = name.evaluate("""element => {
            // For each label's text, how many line boxes it takes: 1 means it was not broken.
            const counts = [];
            for (const label of element.querySelectorAll(".label")) {
                const node = label.firstChild;
                const range = document.createRange();
                range.selectNodeContents(node);
                const tops = new Set(Array.from(range.getClientRects()).map(rect => Math.round(rect.top)));
                counts.push(tops.size);
            }
            return {counts, height: element.getBoundingClientRect().height,
                    line: parseFloat(getComputedStyle(element).lineHeight) || 20};
        }""")
        assert len(lines["counts"]) >= 3 and all(count == 1 for count in lines["counts"]), (path, lines)
        assert lines["height"] > 1.5 * lines["line"], "the long name should wrap at 360 px"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page).to_have_title(f"{WORDS} · Sender domains")
    page.goto(site + f"/{created['DomainID']}")
    expect(page).to_have_title(f"{LONG_IDN} · Sender domains")
    page.context.close()


@pytest.mark.parametrize("subdomain, prefix, allowed", LABELS)
def test_the_preview_refuses_what_the_server_refuses(browser, site, domain_app, user, subdomain, prefix, allowed):
    api = Api(domain_app, user["APIKey"])
    _, created = api.create(SenderDomain="labels.example")
    domain_id = created["DomainID"]
    page = open_page(browser)
    sign_in(page, site, user)
    page.goto(site + f"/{domain_id}")
    # Set as pasted text would be (maxlength stops only typing), then the input event the page reacts to.
    for field, value in (("CustomSubdomain", subdomain), ("CustomTrackPrefix", prefix)):
        page.evaluate("""([id, value]) => {
            const input = document.getElementById(id);
            input.value = value;
            input.dispatchEvent(new Event("input", {bubbles: true}));
        }""", [field, value])
    valid = page.evaluate("document.getElementById('settings').checkValidity()")
    error = page.locator("#preview-error")
    if allowed:
        expect(error).to_be_hidden()
        expect(page.locator("#preview-mfrom")).to_have_text(f"{subdomain or 'sl'}.labels.example")
    else:
        expect(error).to_be_visible()
        expect(page.locator("#preview-mfrom")).to_have_text("refused")
    page.context.close()
    # The server, asked the same through the API's update.
    params = {name: value for name, value in (("CustomSubdomain", subdomain), ("CustomTrackPrefix", prefix)) if value}
    _, answer = api.update(DomainID=domain_id, **params)
    server_allows = answer["Success"] is True
    if not server_allows:
        assert answer["Errors"][0]["Code"] == 6, answer
    assert valid == allowed == server_allows, (subdomain, prefix, valid, server_allows)
