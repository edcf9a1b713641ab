"""Runs ``rasa`` with the project's changes to Rasa 3.6, so every Rasa process starts here.

Telemetry is switched off and logs are redacted (a public service sends nothing it has not
declared and writes no one's email address, phone number or postcode to its logs); then every
patch in ``bot.rasa_patches`` is installed (one module each, with what it changes and why; the
table is in docs/architecture.md), which refuses to start on any Rasa but the pinned one.

Usage: ``python -m bot.rasa_server run --enable-api ...`` (any ``rasa`` arguments).
"""

from __future__ import annotations

import os
import sys


def main(argv=None) -> None:
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    from bot.privacy import install_log_redaction

    install_log_redaction()  # no email address, UK phone number or postcode in the logs (docs/privacy.md)
    from bot.rasa_patches import install_all
    from bot.settings import Settings

    settings = Settings.from_env()
    install_all(
        action_timeout_seconds=settings.action_timeout_seconds, handoff_store_url=settings.handoff_store
    )  # "Did this help? No": a miss (bot/insights/)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa"] + list(sys.argv[1:] if argv is None else argv)
    rasa_main()


if __name__ == "__main__":
    main()
