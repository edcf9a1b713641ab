"""The assistant's markdown as Telegram HTML, cut into parts that each fit one Telegram message.

The assistant writes a small markdown: paragraphs, ``**bold**``, ``*italic*``, `` `code` ``,
``[title](https://...)`` links, ``## headings`` and ``- bullet`` lines. Telegram's HTML parse mode
accepts only a few tags and needs ``<``, ``>`` and ``&`` escaped everywhere, so every piece of text
(the assistant's or a user's) goes through :func:`html.escape` and only the tags made here remain.
Each part also has a plain-text twin, sent if Telegram ever refuses the HTML.
"""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Callable, List, Optional, Sequence, Tuple

TELEGRAM_MESSAGE_LIMIT = 4096  # characters (UTF-16 code units) in one message
LINK_SCHEMES = ("http://", "https://", "mailto:", "tg://")

_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>(?:[^()\s]|\([^()\s]*\))+)\)"
    r"|\*\*(?P<bold>[^\n]+?)\*\*"
    r"|__(?P<bold2>[^_\n]+?)__"
    r"|(?<![\w*])\*(?P<italic>[^\s*](?:[^*\n]*[^\s*])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic2>[^\s_](?:[^_\n]*[^\s_])?)_(?![\w_])"
)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<text>.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(?P<indent>\s*)[-*+]\s+(?P<text>.*)$")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=\S)")
_SPACE = re.compile(r"\s+")


@dataclasses.dataclass(frozen=True)
class MessagePart:
    """One Telegram message's worth of a reply."""

    html: str
    plain: str


def telegram_size(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _inline(text: str, as_html: bool, links: bool = True) -> str:
    out: List[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(_escape(text[position : match.start()]) if as_html else text[position : match.start()])
        position = match.end()
        if match.group("code") is not None:
            code = match.group("code")
            out.append(f"<code>{_escape(code)}</code>" if as_html else code)
        elif match.group("url") is not None:
            label, url = match.group("label"), match.group("url")
            label_out = _inline(label, as_html, links=False)
            if not links or not url.lower().startswith(LINK_SCHEMES):
                out.append(label_out)
            elif as_html:
                out.append(f'<a href="{html.escape(url, quote=True)}">{label_out}</a>')
            else:
                out.append(url if label.strip() == url else f"{label_out} ({url})")
        elif match.group("bold") is not None or match.group("bold2") is not None:
            inner = _inline(match.group("bold") or match.group("bold2"), as_html, links)
            out.append(f"<b>{inner}</b>" if as_html else inner)
        else:
            inner = _inline(match.group("italic") or match.group("italic2"), as_html, links)
            out.append(f"<i>{inner}</i>" if as_html else inner)
    out.append(_escape(text[position:]) if as_html else text[position:])
    return "".join(out)


def _line(line: str, as_html: bool) -> str:
    heading = _HEADING.match(line)
    if heading:
        inner = _inline(heading.group("text"), as_html)
        return f"<b>{inner}</b>" if as_html else inner
    bullet = _BULLET.match(line)
    if bullet:
        return f"{bullet.group('indent')}• {_inline(bullet.group('text'), as_html)}"
    return _inline(line, as_html)


def _render(markdown: str, as_html: bool) -> str:
    paragraphs = [p.strip("\n") for p in _PARAGRAPH_BREAK.split(markdown.replace("\r\n", "\n"))]
    return "\n\n".join(
        "\n".join(_line(line.rstrip(), as_html) for line in paragraph.split("\n"))
        for paragraph in paragraphs
        if paragraph.strip()
    )


def telegram_html(markdown: str) -> str:
    """The whole text as Telegram HTML (no length limit applied)."""
    return _render(markdown, as_html=True)


def plain_text(markdown: str) -> str:
    """The whole text without formatting; links become ``title (url)``."""
    return _render(markdown, as_html=False)


# ---- cutting a long reply into messages ------------------------------------------------


def _cut_outside_spans(pattern: re.Pattern) -> Callable[[str], List[str]]:
    """A splitter at ``pattern``'s matches that are not inside a link, bold or code span."""

    def split(text: str) -> List[str]:
        spans = [m.span() for m in _INLINE.finditer(text)]
        pieces, start = [], 0
        for match in pattern.finditer(text):
            if any(a < match.start() < b for a, b in spans):
                continue
            pieces.append(text[start : match.start()])
            start = match.end()
        pieces.append(text[start:])
        return [p for p in pieces if p.strip()]

    return split


# From the gentlest cut to the roughest: paragraphs, lines, sentences, words.
_LEVELS: Sequence[Tuple[Callable[[str], List[str]], str]] = (
    (lambda text: [p for p in _PARAGRAPH_BREAK.split(text) if p.strip()], "\n\n"),
    (lambda text: [p for p in text.split("\n") if p.strip()], "\n"),
    (_cut_outside_spans(_SENTENCE_END), " "),
    (_cut_outside_spans(_SPACE), " "),
)


def _hard_cut(markdown: str, limit: int) -> List[MessagePart]:
    """Last resort for one enormous word: its plain text in slices that fit once escaped."""
    plain = plain_text(markdown)
    parts, piece, size = [], "", 0
    for char in plain:
        char_size = telegram_size(_escape(char))
        if size + char_size > limit:
            parts.append(MessagePart(_escape(piece), piece))
            piece, size = "", 0
        piece += char
        size += char_size
    if piece:
        parts.append(MessagePart(_escape(piece), piece))
    return parts


def _cut(markdown: str, limit: int, level: int) -> List[MessagePart]:
    whole = MessagePart(telegram_html(markdown), plain_text(markdown))
    if telegram_size(whole.html) <= limit and telegram_size(whole.plain) <= limit:
        return [whole] if whole.plain.strip() else []
    while level < len(_LEVELS):
        split, joiner = _LEVELS[level]
        pieces = split(markdown)
        level += 1
        if len(pieces) > 1:
            break
    else:
        return _hard_cut(markdown, limit)
    parts: List[MessagePart] = []
    current: Optional[MessagePart] = None
    for piece in pieces:
        for small in _cut(piece, limit, level):
            if current is None:
                current = small
                continue
            joined = MessagePart(current.html + joiner + small.html, current.plain + joiner + small.plain)
            if telegram_size(joined.html) <= limit and telegram_size(joined.plain) <= limit:
                current = joined
            else:
                parts.append(current)
                current = small
    if current is not None:
        parts.append(current)
    return parts


def message_parts(markdown: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> List[MessagePart]:
    """The reply as Telegram messages, each within ``limit``, cut at paragraph, line or
    sentence boundaries (words only if a single sentence is longer than a message)."""
    return _cut(markdown or "", limit, 0)
