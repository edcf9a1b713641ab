"""Privacy: log redaction, erasure on request and retention (see docs/privacy.md)."""

from ._erasure import ConversationEraser, Erased, RetentionReport, erase_under_lock, eraser_for
from ._redaction import RedactingFilter, Redactor, install_log_redaction, redact, redact_record

__all__ = [
    "ConversationEraser",
    "Erased",
    "RedactingFilter",
    "Redactor",
    "RetentionReport",
    "erase_under_lock",
    "eraser_for",
    "install_log_redaction",
    "redact",
    "redact_record",
]
