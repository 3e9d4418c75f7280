"""A provider whose client needs a pip extra that is not installed, as Route 53 needs boto3
without ``octeth-domains[route53]``: its factory raises ExtraMissing, the registry's contract."""
from __future__ import annotations

from octeth_domains.providers import ProviderInfo, registry


def client(credentials, *, api_url, timeout, **options):
    try:
        import examplecloud_sdk  # noqa: F401  (never installed)
    except ImportError:
        raise registry.ExtraMissing("examplecloud") from None
    raise AssertionError("examplecloud_sdk is not meant to exist")


PROVIDER = ProviderInfo(
    name="examplecloud",
    label="ExampleCloud",
    nameservers=("*.examplecloud-dns.test",),
    credentials=(registry.key("Access key ID"), registry.secret("Secret access key")),
    where="In the ExampleCloud console, under Security credentials, create an access key.",
    api_url="https://dns.examplecloud.test",
    client=client,
    extra="examplecloud",
    requires=("examplecloud_sdk",),
)
