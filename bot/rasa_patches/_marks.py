"""How a patch marks what it installed, so installing it again changes nothing and the original
stays reachable (for the fingerprint test and for wrapping)."""

from __future__ import annotations

from typing import Any, Callable

MARK = "__mutuals_patch__"


def installed(value: Any, name: str) -> bool:
    """Whether ``value`` (a class or module attribute as it is now) is the patch ``name``."""
    return getattr(value, MARK, None) == name


def mark(patched: Callable, name: str, original: Any) -> Callable:
    """Label ``patched`` as patch ``name`` standing in for ``original``; returns ``patched``."""
    setattr(patched, MARK, name)
    patched.__wrapped__ = original  # inspect and the fingerprint test find the original through it
    return patched


def original_of(value: Any) -> Any:
    """The attribute as Rasa (or python-socketio) defines it, under any of our patches."""
    while getattr(value, MARK, None) is not None:
        value = value.__wrapped__
    return value
