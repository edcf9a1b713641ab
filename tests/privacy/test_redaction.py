"""Email addresses, UK phone numbers and UK postcodes never reach the project's logs."""

import logging
from pathlib import Path

import pytest

from bot.privacy import RedactingFilter, install_log_redaction, redact

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("write to sam@example.org please", "write to [email] please"),
        ("Sam.Smith+mutuals@council.gov.uk", "[email]"),
        ("07700 900123", "[phone]"),
        ("call 07700900123 today", "call [phone] today"),
        ("+44 7700 900123", "[phone]"),
        ("+447700900123", "[phone]"),
        ("0044 7700 900123", "[phone]"),
        ("020 7946 0000", "[phone]"),
        ("(020) 7946 0000", "[phone]"),
        ("+44 (0)20 7946 0000", "[phone]"),
        ("0161-496-0000 or 0161 496 0000", "[phone] or [phone]"),
        ("we are at SW1A 1AA", "we are at [postcode]"),
        ("M1 1AE", "[postcode]"),
        ("m1 1ae", "[postcode]"),
        ("EC1A1BB", "[postcode]"),
        ("B33 8TH, Birmingham", "[postcode], Birmingham"),
        ("Sam, 07700 900123, sam@example.org, CR2 6XH", "Sam, [phone], [email], [postcode]"),
    ],
)
def test_personal_details_are_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "A grant of £100,000 over 3 years",
        "In 2019 we had 1,200 staff and a £3.5m turnover; section 15 of the 2014 Act",
        "Mon-Fri 09:00-17:00, Europe/London",
        "guidance answer: answered=True reason=ok confidence=0.734 sources=['community-interest-company']",
        "request took 0.0123456789 s at 1716212345.0123456789",
        "conversation 3f2a9c0e1b7d4e5fa6b7c8d9e0f1a2b3 and tg-7070707",
        "Rasa 3.6.20, Python 3.10, 127.0.0.1:5005, HTTP 404",
        "company number 01234567 and charity number 1234567",
        "TUPE, CIC, LGPS, NHS, the Co-operative and Community Benefit Societies Act 2014",
    ],
)
def test_ordinary_text_and_numbers_are_left_alone(text):
    assert redact(text) == text


def test_no_false_positives_in_the_guidance_pages():
    for page in sorted((ROOT / "knowledge" / "pages").glob("*.md")):
        text = page.read_text()
        assert redact(text) == text, page.name


def test_records_from_any_logger_are_redacted_whichever_handler_writes_them(tmp_path):
    install_log_redaction()
    path = tmp_path / "log.txt"
    handler = logging.FileHandler(path)  # added after installation, as Rasa adds its own
    logger = logging.getLogger("some.library.of.someone.else")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("user %s said %r", "sam@example.org", "ring me on 07700 900123 at SW1A 1AA")
        try:
            raise ValueError("bad email sam@example.org")
        except ValueError:
            logger.exception("failed for %s", "+44 7700 900123")
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = path.read_text()
    assert "[email]" in written and "[phone]" in written and "[postcode]" in written
    for secret in ("sam@example.org", "07700 900123", "7700 900123", "SW1A 1AA"):
        assert secret not in written
    assert "ValueError" in written  # the traceback is kept, redacted


def test_the_filter_redacts_a_record_made_elsewhere():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "mail %s", ("a@b.example",), None)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "mail [email]"
