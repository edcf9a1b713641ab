"""Own words: the part of `mutuals knowledge check` that looks for text copied word for word.

It cannot tell a close paraphrase from a copy (knowledge/README.md says how editors check that by
hand); it finds what a machine can:
- a quotation of more than QUOTE_WORDS words without a citation in brackets straight after it;
- a run of RUN_WORDS or more words that a page shares with a passage recorded in
  ``knowledge/sources/passages.yml`` (the exact words of sources that pages have been compared with);
- a run of PAGE_RUN_WORDS or more words that two pages share (a fact copied from page to page is
  corrected in one and left wrong in the other: link to the page that explains it instead).
Quotations with their citation are left out of both comparisons.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from ._pages import Guidance

QUOTE_WORDS = 12
RUN_WORDS = 12
PAGE_RUN_WORDS = 15
PASSAGES_FILE = "passages.yml"

_LINK_TARGET = re.compile(r"\]\([^)\s]*\)")
_WORD = re.compile(r"[a-z0-9£%]+(?:'[a-z]+)*")
# a quotation on one line: “curly” or "straight" double quotes
_QUOTE = re.compile(r"“([^”\n]*)”|\"([^\"\n]*)\"")
# a citation is in brackets straight after the closing quote mark: “...” (Procurement Act 2023, s.33(6))
_CITATION = re.compile(r"\s*\([^)\n]*[A-Za-z0-9][^)\n]*\)")


def words(text: str) -> List[str]:
    """The words of ``text``, lower-cased, with link targets and markdown left out."""
    text = _LINK_TARGET.sub("]", text).replace("’", "'").replace("‘", "'").lower()
    return _WORD.findall(text)


def _quotations(text: str) -> Iterable[Tuple[re.Match, str, bool]]:
    for match in _QUOTE.finditer(text):
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        yield match, quoted, bool(_CITATION.match(text, match.end()))


def uncited_quotations(text: str) -> List[str]:
    """Quotations longer than QUOTE_WORDS words with no citation straight after them."""
    return [quoted for _, quoted, cited in _quotations(text) if not cited and len(words(quoted)) > QUOTE_WORDS]


def own_text(text: str) -> str:
    """``text`` without its cited quotations: the words the page claims as its own."""
    for match, quoted, cited in reversed(list(_quotations(text))):
        if cited:
            text = text[: match.start()] + " … " + text[match.end() :]
    return text


def _runs(tokens: Sequence[str], n: int) -> Dict[Tuple[str, ...], int]:
    return {tuple(tokens[i : i + n]): i for i in range(len(tokens) - n, -1, -1)}


def _shared(a: Sequence[str], b: Sequence[str], n: int, in_b: Optional[dict] = None) -> Optional[str]:
    """The longest run of at least ``n`` words ``a`` shares with ``b`` (first found), or None;
    ``in_b`` is ``_runs(b, n)`` when the caller has it already."""
    if len(a) < n or len(b) < n:
        return None
    in_b = _runs(b, n) if in_b is None else in_b
    best = None
    i = 0
    while i <= len(a) - n:
        j = in_b.get(tuple(a[i : i + n]))
        if j is None:
            i += 1
            continue
        length = n
        while i + length < len(a) and j + length < len(b) and a[i + length] == b[j + length]:
            length += 1
        if best is None or length > len(best):
            best = a[i : i + length]
        i += length
    return " ".join(best) if best else None


def _shorten(run: str, limit: int = 12) -> str:
    parts = run.split()
    return " ".join(parts) if len(parts) <= limit else " ".join(parts[:limit]) + " …"


def load_source_passages(path: Path) -> Tuple[List[dict], List[str]]:
    """The recorded source passages and any problem with the file (it is optional)."""
    if not path.exists():
        return [], []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return [], [f"{path.name}: not valid YAML ({exc})"]
    items = data.get("passages") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return [], [f"{path.name}: expected a 'passages:' list"]
    good, problems = [], []
    for number, item in enumerate(items, 1):
        if (
            not isinstance(item, dict)
            or not item.get("source")
            or not str(item.get("url", "")).startswith("https://")
            or not isinstance(item.get("text"), str)
            or len(words(item["text"])) < RUN_WORDS
        ):
            problems.append(
                f"{path.name}: passage {number} needs a source, an https:// url and a text "
                f"of at least {RUN_WORDS} words"
            )
        else:
            good.append(item)
    return good, problems


def check_own_words(pages: Sequence[Guidance], sources_dir: Path) -> List[str]:
    """Every copying problem, one sentence each naming the file."""
    problems: List[str] = []
    texts = {}
    for page in pages:
        for passage in page.passages:
            where = f"{page.path.name}: section {passage.heading!r}"
            for quoted in uncited_quotations(passage.text):
                problems.append(
                    f"{where} quotes {len(words(quoted))} words (“{_shorten(quoted, 8)}”) without a "
                    "citation in brackets straight after the closing quote mark; cite it, e.g. "
                    "“…” (Procurement Act 2023, s.33(6)), or say it in the page's own words"
                )
        texts[page.slug] = words(own_text("\n\n".join(passage.text for passage in page.passages)))
    passages, file_problems = load_source_passages(Path(sources_dir) / PASSAGES_FILE)
    problems.extend(file_problems)
    for page in pages:
        for item in passages:
            run = _shared(texts[page.slug], words(item["text"]), RUN_WORDS)
            if run:
                problems.append(
                    f"{page.path.name}: {len(run.split())} words follow {item['source']} word for word "
                    f"(“{_shorten(run)}”); say it in the page's own words, or quote it with its citation"
                )
    ordered = list(pages)
    runs = {page.slug: _runs(texts[page.slug], PAGE_RUN_WORDS) for page in ordered}
    for i, page in enumerate(ordered):
        for other in ordered[i + 1 :]:
            if runs[page.slug].keys().isdisjoint(runs[other.slug].keys()):
                continue
            run = _shared(texts[page.slug], texts[other.slug], PAGE_RUN_WORDS, runs[other.slug])
            if run:
                problems.append(
                    f"{page.path.name}: {len(run.split())} words are also on {other.path.name} "
                    f"(“{_shorten(run)}”); keep the fact on one page and link to it from the other"
                )
    return problems


__all__ = [
    "check_own_words",
    "uncited_quotations",
    "own_text",
    "words",
    "QUOTE_WORDS",
    "RUN_WORDS",
    "PAGE_RUN_WORDS",
    "PASSAGES_FILE",
]
