"""A reply as plain text for a terminal: markdown stripped, links as numbered footnotes, buttons as
numbered options (`mutuals ask`; `--json` keeps the reply exactly as the channels get it)."""

from __future__ import annotations

import re
from typing import List, Sequence, Tuple

_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")


def plain_text(markdown: str, buttons: Sequence[Tuple[str, str]] = ()) -> str:
    """``markdown`` as readable text; ``buttons`` as ``(title, payload)`` pairs listed after it."""
    notes: List[str] = []

    def footnote(match: "re.Match[str]") -> str:
        words, url = match.group(1), match.group(2)
        if url not in notes:
            notes.append(url)
        return f"{words} [{notes.index(url) + 1}]"

    lines = []
    for line in markdown.splitlines():
        line = _LINK.sub(footnote, line)
        line = _BOLD.sub(lambda m: m.group(1) or m.group(2), line)
        line = _ITALIC.sub(r"\1", line)
        line = _CODE.sub(r"\1", line)
        line = re.sub(r"^\s*#{1,6}\s+", "", line)
        line = re.sub(r"^(\s*)[-*+]\s+", r"\1• ", line)
        lines.append(line.rstrip())
    text = "\n".join(lines).strip()
    if notes:
        text += "\n\n" + "\n".join(f"[{i}] {url}" for i, url in enumerate(notes, 1))
    if buttons:
        text += "\n\nYou can reply with:\n" + "\n".join(f"  {i}. {title}" for i, (title, _) in enumerate(buttons, 1))
    return text
