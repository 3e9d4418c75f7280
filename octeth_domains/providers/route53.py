"""Amazon Route 53, through dns-lexicon and boto3 (the optional extra ``route53``:
``pip install octeth-domains[route53]``). Without boto3 the client factory raises
:class:`~.registry.ExtraMissing`, which ``dns.authorize``/``dns.set`` answer with code 8 naming
the extra.

boto3 does not use ``requests``, so the bounds of SPEC §7 are set on its own client: lexicon's
client is replaced, right after it is built, by one with our timeouts, a bounded number of
attempts and, when ``OCTETH_ROUTE53_API_URL`` names one, that endpoint.

Route 53 keeps record sets, not records: lexicon's update replaces the whole set with one value,
so an SPF record merged in place at a name holding other TXT values is rewritten here as the set
of every value it held, the merged one swapped in (``UPSERT``).
"""
from __future__ import annotations

import importlib.util
import typing as t

from . import Change, Credentials, Record
from ._lexicon import LexiconProvider
from .registry import ExtraMissing, ProviderInfo, key, secret

EXTRA = "route53"


class Route53(LexiconProvider):
    name = "route53"
    label = "Route 53"
    lexicon_name = "route53"
    options = {"key": "auth_access_key", "secret": "auth_access_secret"}
    default_api_url = "https://route53.amazonaws.com"
    credentials_hint = ("use an IAM access key allowed route53:ListHostedZonesByName,"
                        " route53:ListResourceRecordSets and route53:ChangeResourceRecordSets")

    def _point(self, provider: t.Any) -> None:
        import boto3
        from botocore.config import Config

        provider.r53_client = boto3.client(
            "route53",
            aws_access_key_id=self.credentials.key,
            aws_secret_access_key=self.credentials.secret,
            endpoint_url=self.api_url,
            region_name="us-east-1",
            config=Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                          retries={"max_attempts": self.retries + 1, "mode": "standard"}),
        )

    def _update(self, provider: t.Any, zone_name: str, change: Change, existing: list[Record]) -> None:
        old, record = change.replaces, change.record
        assert old is not None
        # The set as it is now (an earlier change of this run may have added to it).
        current = [r for r in self._list(provider, zone_name) if (r.name, r.type) == (old.name, old.type)]
        values = [self._content(record if r.same_data(old) else r) for r in current]
        if not any(r.same_data(old) for r in current):
            values.append(self._content(record))
        if not self._call(provider._change_record_sets, "UPSERT", record.type, record.name, values):
            raise self._error(f"{self.label} refused to update {record.name}; check the access key's"
                              " route53:ChangeResourceRecordSets permission.")


def client(credentials: Credentials, **kwargs: t.Any) -> Route53:
    """The Route 53 client, or :class:`ExtraMissing` when boto3 is not installed."""
    if importlib.util.find_spec("boto3") is None:
        raise ExtraMissing(EXTRA)
    return Route53(credentials, **kwargs)


PROVIDER = ProviderInfo(
    name="route53",
    label="Route 53",
    nameservers=("*.awsdns-*",),
    credentials=(key("Access key ID"), secret("Secret access key")),
    where="In the AWS console, open IAM, choose a user allowed to change the hosted zone's records,"
    " and create an access key under Security credentials.",
    api_url=Route53.default_api_url,
    client=client,
    extra=EXTRA,
    requires=("boto3",),
)
