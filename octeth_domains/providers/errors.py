"""The two errors a provider client raises: :class:`ProviderError` (code 9 in the API) and
:class:`AuthorizationFailed` (code 4). Their text is built by this package, never a credential."""
from __future__ import annotations


class ProviderError(Exception):
    """The provider could not be reached or gave an answer we cannot use.

    ``reason`` is one sentence a person can act on ("try again later",
    "check the API URL"). It never contains a credential: it is built by
    this package and passed through :func:`scrub`.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class AuthorizationFailed(ProviderError):
    """The provider refused the credentials, or the domain is not theirs to edit.

    Separate from :class:`ProviderError` because the API answers it with its
    own code (4, "the provider said no") rather than the generic code 9.
    """
