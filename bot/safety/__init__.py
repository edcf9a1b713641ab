"""What is checked in every message before anything else, without Rasa (used by the channels,
the NLU's ``MessageRouter`` and the log redaction alike):

- :func:`find_crisis`: a risk to someone's life or safety, answered with where to get help;
- :func:`is_injection`: an attempt to change the assistant's instructions or role (out of scope);
- :func:`mask_identifiers`: National Insurance numbers, card numbers and bank details, replaced by
  placeholders where the message enters, so the conversation, logs and handoff store never hold them.
"""

from ._crisis import find_crisis, normalise
from ._identifiers import (
    BANK_REMOVED,
    CARD_REMOVED,
    KIND_OF,
    NI_REMOVED,
    PLACEHOLDERS,
    Masked,
    luhn_valid,
    mask_identifiers,
    placeholders_in,
    without_placeholders,
)
from ._injection import is_injection

__all__ = [
    "BANK_REMOVED",
    "CARD_REMOVED",
    "KIND_OF",
    "Masked",
    "NI_REMOVED",
    "PLACEHOLDERS",
    "find_crisis",
    "is_injection",
    "luhn_valid",
    "mask_identifiers",
    "normalise",
    "placeholders_in",
    "without_placeholders",
]
