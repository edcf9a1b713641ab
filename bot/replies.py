"""What the person is told by more than one part of the assistant, written once so every channel
says the same: the Rasa server's channels and patches, and the Telegram front end, which runs
without Rasa (so this module imports nothing)."""

from __future__ import annotations

# when the assistant cannot answer: an action failed or timed out, the database or the Rasa
# server is down, a part is being restarted
TROUBLE = "Sorry, I'm having trouble answering right now. Please try again in a minute; your conversation is kept."
