"""The command handlers. Importing this package registers every command."""
from . import senderdomains, users  # noqa: F401
