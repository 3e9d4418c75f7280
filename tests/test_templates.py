import re

import pytest

from octeth_domains.senderdomains.templates import (
    CAMPAIGN,
    EMAIL_GATEWAY,
    TemplateError,
    TemplateSettings,
    load_templates,
    ownership_token,
    render,
    verify_ownership_token,
)

SECRET = b"test-secret-key"

# The records of the seed's create/update examples.
SEED_TEMPLATE = {
    "_Subdomain_._SenderDomain_": ["CNAME", "tracking-host.octeth.example."],
    "_TrackPrefix__TrackMerge__Subdomain_._SenderDomain_": [
        "CNAME",
        "tracking-host.octeth.example.",
    ],
}


@pytest.fixture
def settings():
    return TemplateSettings(secret_key=SECRET)


@pytest.fixture
def write_toml(tmp_path):
    def write(text):
        path = tmp_path / "templates.toml"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def test_seed_create_example(settings):
    assert render(SEED_TEMPLATE, "example.com", {}, settings) == {
        "sl.example.com": ["CNAME", "tracking-host.octeth.example."],
        "track-sl.example.com": ["CNAME", "tracking-host.octeth.example."],
    }


def test_seed_update_example_custom_subdomain(settings):
    out = render(SEED_TEMPLATE, "example.com", {"CustomSubdomain": "em"}, settings)
    assert out == {
        "em.example.com": ["CNAME", "tracking-host.octeth.example."],
        "track-em.example.com": ["CNAME", "tracking-host.octeth.example."],
    }


def test_custom_track_prefix_and_settings(settings):
    out = render(SEED_TEMPLATE, "example.com", {"CustomTrackPrefix": "clk"}, settings)
    assert list(out) == ["sl.example.com", "clk-sl.example.com"]

    other = TemplateSettings(
        secret_key=SECRET, subdomain="mx", track_prefix="t", track_merge="."
    )
    assert list(render(SEED_TEMPLATE, "example.com", {}, other)) == [
        "mx.example.com",
        "t.mx.example.com",
    ]


def test_tracking_record_omitted(settings):
    out = render(SEED_TEMPLATE, "example.com", {"TrackPrefixDisabled": True}, settings)
    assert list(out) == ["sl.example.com"]
    out = render(SEED_TEMPLATE, "example.com", {"TrackPrefixDisabled": False}, settings)
    assert list(out) == ["sl.example.com", "track-sl.example.com"]


def test_the_templates_letters_keep_their_case_and_filled_labels_are_lower_case(settings):
    # Octeth's record set names the DMARC host "_DMARC.<subdomain>.<domain>", as its template spells it.
    template = {"_DMARC._Subdomain_._SenderDomain_": ["CNAME", "_DMARC.Mailer.Example."]}
    out = render(template, "example.com", {"CustomSubdomain": "EM"}, settings)
    assert out == {"_DMARC.em.example.com": ["CNAME", "_DMARC.Mailer.Example."]}


def test_two_spellings_of_one_host_are_one_host(settings):
    same = {"_DMARC._SenderDomain_": ["TXT", "v=DMARC1; p=none"], "_dmarc._SenderDomain_": ["TXT", "v=DMARC1; p=none"]}
    assert render(same, "example.com", {}, settings) == {"_DMARC.example.com": ["TXT", "v=DMARC1; p=none"]}
    different = {"_DMARC._SenderDomain_": ["TXT", "v=DMARC1; p=none"], "_dmarc._SenderDomain_": ["TXT", "other"]}
    with pytest.raises(TemplateError):
        render(different, "example.com", {}, settings)


def test_placeholders_in_values(settings):
    template = {"_SenderDomain_": ["TXT", "v=x _SenderDomain_ _Subdomain_ _TrackPrefix_"]}
    out = render(template, "example.com", {}, settings)
    assert out == {"example.com": ["TXT", "v=x example.com sl track"]}


def test_substituted_label_is_not_rescanned(settings):
    # A label that looks like a placeholder must stay literal.
    out = render(SEED_TEMPLATE, "example.com", {"CustomSubdomain": "_SenderDomain_"}, settings)
    assert "_senderdomain_.example.com" in out


def test_builtin_default(settings):
    templates = load_templates(None, "mailer.delivery.example.")
    out = render(templates.get(CAMPAIGN), "example.com", {}, settings, random_label="abc123defg")
    token = ownership_token(SECRET, "example.com", "abc123defg")
    assert out == {
        "sl.example.com": ["CNAME", "mailer.delivery.example."],
        "key1._domainkey.sl.example.com": ["CNAME", "key1._domainkey.mailer.delivery.example."],
        "_DMARC.sl.example.com": ["CNAME", "_DMARC.mailer.delivery.example."],
        "track-sl.example.com": ["CNAME", "track.mailer.delivery.example."],
        "abc123defg.sl.example.com": ["TXT", token],
    }
    gateway = render(templates.get(EMAIL_GATEWAY), "example.com", {}, settings)
    # What Octeth's email gateway verifies: mail.<domain>, and the apex SPF (include from the delivery host).
    assert gateway == {"mail.example.com": ["CNAME", "gateway.mailer.delivery.example."],
                       "example.com": ["TXT", "v=spf1 include:_spf.mailer.delivery.example ~all"]}
    own = load_templates(None, "mailer.delivery.example.", "spf.gateway.example").get(EMAIL_GATEWAY)
    assert render(own, "example.com", {}, settings)["example.com"] == ["TXT", "v=spf1 include:spf.gateway.example ~all"]


def test_builtin_default_delivery_host():
    records = load_templates(None).get(CAMPAIGN)
    assert records["_Subdomain_._SenderDomain_"] == ("CNAME", "mailer.octeth.example.")


def test_unknown_name_falls_back_to_default():
    templates = load_templates(None)
    assert templates.get(CAMPAIGN, "NoSuchTemplate") is templates.get(CAMPAIGN)
    assert templates.get(EMAIL_GATEWAY, None) is templates.get(EMAIL_GATEWAY, "Default")


def test_random_label_per_render(settings):
    records = load_templates(None).get(CAMPAIGN)
    first = render(records, "example.com", {}, settings)
    second = render(records, "example.com", {}, settings)
    (txt_host,) = [h for h, r in first.items() if r[0] == "TXT"]
    label = txt_host.split(".")[0]

    assert re.fullmatch(r"[a-z0-9]{10}", label)
    assert txt_host not in second
    assert verify_ownership_token(SECRET, "example.com", label, first[txt_host][1])


def test_random_label_shared_by_records_of_one_render(settings):
    template = {
        "_SenderDomainRandom_._SenderDomain_": ["TXT", "_SenderDomainHash_"],
        "x._SenderDomain_": ["TXT", "_SenderDomainRandom_"],
    }
    out = render(template, "example.com", {}, settings)
    label = out["x.example.com"][1]
    assert out[f"{label}.example.com"] == ["TXT", ownership_token(SECRET, "example.com", label)]


def test_ownership_token():
    token = ownership_token(SECRET, "example.com", "abc")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # base64url of 32 bytes, no padding
    assert verify_ownership_token(SECRET, "example.com", "abc", token)
    assert not verify_ownership_token(b"other-secret", "example.com", "abc", token)
    assert not verify_ownership_token(SECRET, "example.org", "abc", token)
    assert not verify_ownership_token(SECRET, "example.com", "abd", token)
    assert not verify_ownership_token(SECRET, "example.com", "abc", token[:-1])
    assert not verify_ownership_token(SECRET, "example.com", "abc", "é" + token[1:])
    # Without the secret, the obvious guesses are wrong.
    assert ownership_token(b"x", "example.com", "abc") != token


def test_empty_secret_refused():
    with pytest.raises(ValueError):
        TemplateSettings(secret_key=b"")


def test_toml_file(write_toml, settings):
    path = write_toml(
        """
[campaign.Default]
"_Subdomain_._SenderDomain_" = ["CNAME", "a.example."]
"_SenderDomain_" = ["mx", "10 mx.example."]

[campaign.Bulk]
"z._SenderDomain_" = ["A", "192.0.2.1"]
"a._SenderDomain_" = ["AAAA", "2001:db8::1"]
"m._SenderDomain_" = ["TXT", "v=spf1 -all"]

[campaign.Empty]

[email-gateway.Default]
"_Subdomain_._SenderDomain_" = ["CNAME", "gw.example."]
"""
    )
    templates = load_templates(path, "ignored.example.")
    assert templates.source == path
    assert render(templates.get(CAMPAIGN), "example.com", {}, settings) == {
        "sl.example.com": ["CNAME", "a.example."],
        "example.com": ["MX", "10 mx.example."],
    }
    # Order is the file's, not alphabetical.
    assert list(render(templates.get(CAMPAIGN, "Bulk"), "example.com", {}, settings)) == [
        "z.example.com",
        "a.example.com",
        "m.example.com",
    ]
    assert render(templates.get(CAMPAIGN, "Empty"), "example.com", {}, settings) == {}
    assert templates.get(EMAIL_GATEWAY)["_Subdomain_._SenderDomain_"] == ("CNAME", "gw.example.")


def test_file_without_default_gets_builtin(write_toml):
    path = write_toml('[campaign.Other]\n"_SenderDomain_" = ["A", "192.0.2.1"]\n')
    templates = load_templates(path, "d.example.")
    assert templates.get(CAMPAIGN, "Other") == {"_SenderDomain_": ("A", "192.0.2.1")}
    assert templates.get(CAMPAIGN)["_Subdomain_._SenderDomain_"] == ("CNAME", "d.example.")
    assert templates.get(EMAIL_GATEWAY)["mail._SenderDomain_"] == (
        "CNAME",
        "gateway.d.example.",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[campaign.Default\n", "not valid TOML"),
        ('[campaign.Bad]\n"_SenderDomain_" = ["SRV", "x"]\n', "campaign.Bad"),
        ('[campaign.Bad]\n"_SenderDomain_" = ["CNAME"]\n', "campaign.Bad"),
        ('[campaign.Bad]\n"_SenderDomain_" = ["CNAME", ""]\n', "campaign.Bad"),
        ('[campaign.Bad]\n"_SenderDomain_" = "CNAME x"\n', "campaign.Bad"),
        ('[campaign.Bad]\n"" = ["CNAME", "x."]\n', "campaign.Bad"),
        ('[email-gateway]\nBad = 1\n', "email-gateway.Bad"),
        ("campaign = 1\n", "'campaign'"),
        ('[campain.Default]\n"_SenderDomain_" = ["A", "192.0.2.1"]\n', "campain"),
    ],
)
def test_bad_file(write_toml, text, message):
    path = write_toml(text)

    with pytest.raises(TemplateError) as info:
        load_templates(path)

    assert str(info.value).startswith(path)
    assert message in str(info.value)
    assert info.value.__cause__ is None  # nothing to print but the message


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.toml")

    with pytest.raises(TemplateError, match="cannot read"):
        load_templates(path)


def test_conflicting_hosts(settings):
    template = {"_Subdomain_._SenderDomain_": ["CNAME", "a."], "sl._SenderDomain_": ["CNAME", "b."]}

    with pytest.raises(TemplateError, match="sl.example.com"):
        render(template, "example.com", {}, settings)

    template["sl._SenderDomain_"] = ["CNAME", "a."]
    assert render(template, "example.com", {}, settings) == {"sl.example.com": ["CNAME", "a."]}


def test_an_mx_record_without_a_preference_is_refused(write_toml):
    path = write_toml('[campaign.Default]\n"_SenderDomain_" = ["MX", "mx.example."]\n')
    with pytest.raises(TemplateError, match="preference"):
        load_templates(path, "d.example.")


@pytest.mark.parametrize("preference, refused", [("65535", False), ("65536", True), ("99999", True), ("0", False)])
def test_an_mx_preference_is_a_16_bit_number(write_toml, preference, refused):
    path = write_toml(f'[campaign.Default]\n"_SenderDomain_" = ["MX", "{preference} mx.example."]\n')
    if refused:
        with pytest.raises(TemplateError, match="from 0 to 65535"):
            load_templates(path, "d.example.")
    else:
        assert load_templates(path, "d.example.").get("campaign", "Default")["_SenderDomain_"] == ("MX", f"{preference} mx.example.")
