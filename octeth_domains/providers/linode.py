"""Linode (Akamai) DNS Manager (API v4, a personal access token), through dns-lexicon.

Lexicon's Linode provider joins its paths (``domains/...``) to the base without a slash, so the
base keeps its final slash.

An update in place (``PUT /domains/{domainId}/records/{recordId}``) is sent here rather than
through lexicon's ``update_record``: that one sends ``"name": null`` for a record at the apex
(Linode names the apex ``""``, which lexicon takes for "no name") and the record's ``type``,
which the update's request schema does not have. Linode's schema types ``name`` as a string,
not nullable, so the apex's SPF record could not be merged. The name and type do not change in
an update of ours, so only the new ``target`` is sent (fields left out stay as they are).
A new record is sent here too, with its TTL (lexicon's sends ``ttl_sec: 0``, the domain's
default) and an MX record's preference in ``priority``; that of each listed MX record is read by
its id (lexicon's provider neither sends nor lists it).
"""
from __future__ import annotations

import typing as t

from . import Change, Record
from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class Linode(LexiconProvider):
    name = "linode"
    label = "Linode"
    lexicon_name = "linode"
    options = {"key": "auth_token"}
    default_api_url = "https://api.linode.com/v4"
    # Linode keeps an MX record's preference in ``priority``, which lexicon's provider neither
    # sends nor lists.
    mx_preference = "field"
    # Linode's schema bounds ``priority`` to 0-255.
    max_mx_preference = 255
    credentials_hint = "use a personal access token with Read/Write access to Domains"

    def _point(self, provider: t.Any) -> None:
        provider.api_endpoint = self.api_url.rstrip("/") + "/"

    def _create(self, provider: t.Any, zone_name: str, record: Record) -> None:
        # Lexicon's create_record sends ``ttl_sec: 0`` (the domain's default, a day unless set)
        # whatever the record's TTL, and lists the whole zone first to skip a duplicate the
        # planner has already ruled out.
        data = {"name": self._relative(record, zone_name), "type": record.type, "target": self._content(record), "ttl_sec": record.ttl}
        if record.type == "MX":
            data["priority"] = record.preference
        self._call(provider._post, f"domains/{provider.domain_id}/records", data)

    def _preference_of(self, provider: t.Any, item: dict[str, t.Any]) -> int | None:
        return provider._get(f"domains/{provider.domain_id}/records/{item['id']}").get("priority")

    def _update(self, provider: t.Any, zone_name: str, change: Change, existing: list[Record]) -> None:
        old, record = change.replaces, change.record
        assert old is not None
        if not old.ref:
            super()._update(provider, zone_name, change, existing)  # says why it cannot
            return
        path = f"domains/{provider.domain_id}/records/{old.ref}"
        self._call(provider._put, path, {"target": self._content(record)})


PROVIDER = ProviderInfo(
    name="linode",
    label="Linode",
    nameservers=("*.linode.com",),
    credentials=(key("Personal access token"),),
    where="In the Linode Cloud Manager, open your profile, then API Tokens, and create a personal"
    " access token with Read/Write access to Domains.",
    api_url=Linode.default_api_url,
    client=Linode,
)
