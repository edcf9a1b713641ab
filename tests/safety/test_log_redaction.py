"""The logs hide National Insurance numbers, card numbers and bank details as the channels do."""

import logging

import pytest

from bot.privacy import install_log_redaction, redact


@pytest.mark.parametrize(
    "text, expected",
    [
        ("user said: card 4111 1111 1111 1111 ok", "user said: card [card number removed] ok"),
        ("NI QQ123456C", "NI [National Insurance number removed]"),
        ("sort code 12-34-56 account 12345678", "sort code [bank details removed] account [bank details removed]"),
        ("card 5500000000000004 and phone 07700 900123", "card [card number removed] and phone [phone]"),
    ],
)
def test_identifiers_are_redacted_in_logs(text, expected):
    assert redact(text) == expected


def test_a_log_record_with_a_card_number_is_written_masked(tmp_path):
    install_log_redaction()
    path = tmp_path / "log.txt"
    handler = logging.FileHandler(path)
    logger = logging.getLogger("tests.safety.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("rest: message %r", "pay with 4000 0566 5566 5556 please")
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = path.read_text()
    assert "[card number removed]" in written and "5556" not in written
