"""Hiding email addresses, UK phone numbers, UK postcodes, National Insurance numbers, payment card
numbers and bank details in the logs the project writes.

:func:`install_log_redaction` is called first thing by every process the project starts
(``bot.rasa_server``, ``bot.action_server``, ``bot.web``, ``bot.telegram``). It redacts every log
record as it is made, from any logger, whichever handler later writes it (Rasa and Sanic add
their own handlers after we start): the message with its arguments, and the text of an
exception's traceback. A :class:`RedactingFilter` is also put on the root logger's handlers, for
records made before installation or by a record factory of someone else's.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Optional

from bot.safety import mask_identifiers

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# +44 or 0044 then 9-10 digits, or 0 then 9-10 digits; spaces, dashes, dots or brackets between
UK_PHONE = re.compile(
    r"(?<![\w+./])(?:(?:\+|00)44[\s.-]?(?:\(0\)[\s.-]?)?\(?|\(0|0)"
    r"(?:\d[\s.\-)]{0,2}){8,9}\d(?![\d])"
)
# outward code (A9, A9A, A99, AA9, AA9A, AA99) and inward code (9AA); GIR 0AA; letters either case
UK_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)[ \t]*\d[ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)

EMAIL_MARK, PHONE_MARK, POSTCODE_MARK = "[email]", "[phone]", "[postcode]"


class Redactor:
    """``Redactor().redact(text)``: the text with each email address, UK phone number and UK
    postcode replaced by ``[email]``, ``[phone]`` or ``[postcode]``, and each National Insurance
    number, card number (Luhn-checked) and bank account with sort code by the placeholder the
    channels use (``[card number removed]``; ``bot.safety.mask_identifiers``), first, so a card
    number is not half taken for a phone number."""

    def redact(self, text: str) -> str:
        if not text:
            return text
        text = mask_identifiers(text).text
        if "@" in text:
            text = EMAIL.sub(EMAIL_MARK, text)
        text = UK_PHONE.sub(PHONE_MARK, text)
        return UK_POSTCODE.sub(POSTCODE_MARK, text)

    __call__ = redact


redact = Redactor()


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Replace the record's message (and traceback text) by its redacted form, once."""
    if getattr(record, "_mutuals_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: let logging report it as it would
        return record
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._mutuals_redacted = True
    return record


class RedactingFilter(logging.Filter):
    """A logging filter (for handlers or loggers) that redacts and never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed: Optional[object] = None


def install_log_redaction() -> None:
    """Redact every log record this process makes from now on (idempotent)."""
    global _installed
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    if _installed is not None:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        return redact_record(make_record(*args, **kwargs))

    logging.setLogRecordFactory(redacting_factory)
    _installed = redacting_factory
