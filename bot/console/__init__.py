"""The adviser console: sign-in, the queue of handoff cases, and each case."""
from ._passwords import WeakPassword, hash_password, verify_password
from ._routes import COOKIE, add_console

__all__ = ["COOKIE", "WeakPassword", "add_console", "hash_password", "verify_password"]
