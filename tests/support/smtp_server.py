"""A real SMTP server on loopback for the email tests (aiosmtpd), on a free port, stopped by its
context manager. It keeps every message it accepted and can refuse the first attempts with a 4xx."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from typing import List

from aiosmtpd.controller import Controller

from bot.stack import free_port


def body(message: email.message.EmailMessage) -> str:
    """The plain-text body as written (SMTP carries it with CRLF line ends)."""
    return message.get_content().replace("\r\n", "\n")


class _Handler:
    def __init__(self, refuse_first: int):
        self.refuse_left = refuse_first
        self.refused = 0
        self.messages: List[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse_left > 0:  # "try again later": the client must not count it as sent
                self.refuse_left -= 1
                self.refused += 1
                return "451 4.3.0 Mailbox busy, try again later"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 2.0.0 OK: queued"


class SmtpServer:
    """``with SmtpServer(refuse_first=1) as smtp: ... smtp.url, smtp.messages``"""

    def __init__(self, refuse_first: int = 0):
        self.handler = _Handler(refuse_first)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp+plain://127.0.0.1:{self.port}"

    @property
    def messages(self) -> List[email.message.EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def refused(self) -> int:
        return self.handler.refused

    def wait_for(self, count: int, timeout: float = 30.0) -> List[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} message(s) arrived, not {count}, in {timeout:g} s")
            time.sleep(0.1)
        return self.messages

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
