"""The command handlers. Importing this package registers every command."""
from . import dns, operations, senderdomains, users  # noqa: F401
from . import admin, domainconnect  # noqa: F401
