"""The adviser console: sign-in, the queue of handoff cases, and each case."""

from ._passwords import WeakPassword, hash_password, verify_password
from ._routes import COOKIE
from ._insights_gaps import add_console_with_gaps as add_console  # the console, with /console/gaps

__all__ = ["COOKIE", "WeakPassword", "add_console", "hash_password", "verify_password"]
