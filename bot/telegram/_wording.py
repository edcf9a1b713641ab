"""What the Telegram front end says in its own voice (commands, not answers), in markdown."""

from __future__ import annotations

from typing import List, Tuple

# (command, description) for Telegram's command menu, in the order shown
COMMANDS: List[Tuple[str, str]] = [
    ("start", "What I can do"),
    ("help", "How to ask and the commands"),
    ("human", "Ask to talk to a human adviser"),
    ("restart", "Start our conversation over"),
    ("delete_my_data", "Delete what the assistant holds about this chat"),
]

WELCOME = (
    "**Hello! I'm Mutuals Assistant.**\n\n"
    "I answer questions about public service mutuals, co-operatives, community interest companies and "
    "employee ownership: choosing a legal form, spinning out, staff transfers and pensions, contracts, "
    "finance and governance. Each answer comes from published guidance, with a link to its source.\n\n"
    "Just type your question, for example: *How do I register a co-operative?*\n\n"
    "I'm an automated assistant, not a person. Type /human to ask for an adviser, /restart to start over, "
    "or /help for more."
)

HELP = (
    "**How to use me**\n\n"
    "Ask a question in your own words, one at a time. I answer from published guidance and link to "
    "the page each answer comes from; if I'm not sure, I say so and suggest topics.\n\n"
    "In a group, mention me (@{username}) or reply to one of my messages, and I'll answer there.\n\n"
    "**Commands**\n"
    "/start - what I can do\n"
    "/help - this message\n"
    "/human - ask to talk to a human adviser\n"
    "/restart - start our conversation over\n"
    "/delete_my_data - delete what the assistant holds about this chat"
)

RESTARTED = "OK, we're starting over: I've forgotten our conversation so far. What would you like to know?"

DELETE_MY_DATA = (
    "**Deleting your data**\n\n"
    "The assistant stores this chat's conversation (your messages and its answers, with your Telegram "
    "name) and any request you made to talk to an adviser (your question, name, email address and the "
    "adviser's notes).\n\n"
    "If you confirm, all of it is deleted straight away and can't be recovered; we'll then start a new "
    "conversation. If you do nothing, conversations are deleted automatically after {retention_days} days.\n\n"
    "Telegram keeps its own copy of the chat on your devices; you can delete that in the Telegram app "
    "(delete the chat).\n\n"
    "Delete your data now?"
)
DELETE_CONFIRM_TITLE = "Yes, delete my data"
DELETE_CANCEL_TITLE = "No, keep it"
DATA_DELETED = (
    "Done: your conversation and any adviser requests from this chat have been deleted. "
    "Anything you send now starts a new conversation."
)
DATA_KEPT = "OK, nothing has been deleted."
DELETE_FAILED = "Sorry, your data couldn't be deleted just now. Please try /delete_my_data again in a few minutes."
DELETE_NOT_YOURS = "Only the person who asked to delete this chat's data can confirm it."

UNKNOWN_COMMAND = "I don't know that command. Type /help to see what I can do, or just ask your question."
TEXT_ONLY = "Sorry, I can only read text messages. Please type your question."
BUTTON_EXPIRED = "That button has expired. Please type your question instead."
