"""Guidance pages: markdown files with YAML front matter, split into passages."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import yaml

CATEGORIES = (
    "basics",
    "legal-forms",
    "spinning-out",
    "staff",
    "rights",
    "procurement",
    "finance",
    "governance",
    "about",
)
REQUIRED_FIELDS = ("title", "slug", "summary", "category", "sources", "last_reviewed", "review_by")

# A dated fact is marked in the page text with {from: YYYY-MM-DD} (a change that takes effect that day),
# {until: YYYY-MM-DD} (a rule that ends after that day) or {as at: YYYY-MM-DD} (true when checked that
# day, may change without notice). The marker is taken out of the text everywhere it is shown or
# searched; the date stays on the page and its passage for `mutuals knowledge check` (knowledge/README.md).
DATED_KINDS = ("from", "until", "as at")
_MARKER = re.compile(r"[ \t]*\{([A-Za-z][A-Za-z ]*):([^{}\n]*)\}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class PageError(ValueError):
    """A guidance page that cannot be read; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Source:
    title: str
    url: str


@dataclasses.dataclass(frozen=True)
class DatedFact:
    """A sentence marked with the date it changes (or was last known true)."""

    kind: str  # "from", "until" or "as at"
    date: _dt.date
    sentence: str  # the sentence (or list item) it marks, without the marker
    anchor: str = ""  # the section it is in ("" for the text before the first heading)

    @property
    def due(self) -> Optional[_dt.date]:
        """The day the sentence needs rewording: a change has happened or a rule has ended."""
        if self.kind == "from":
            return self.date
        if self.kind == "until":
            return self.date + _dt.timedelta(days=1)
        return None  # "as at": checked with the page, on its review_by date


@dataclasses.dataclass(frozen=True)
class Passage:
    """One section of a page: the unit the assistant answers with."""

    slug: str
    page_title: str
    heading: str
    anchor: str
    text: str
    dated: Tuple[DatedFact, ...] = ()  # the dated facts in this section (their markers are not in text)

    @property
    def id(self) -> str:
        return f"{self.slug}#{self.anchor}" if self.anchor else self.slug

    @property
    def search_text(self) -> str:
        """What retrieval matches against: the page, the heading and the words."""
        heading = self.heading if self.heading != self.page_title else ""
        return " \n".join(part for part in (self.page_title, heading, self.text) if part)


@dataclasses.dataclass(frozen=True)
class Guidance:
    """One guidance page."""

    slug: str
    title: str
    summary: str
    category: str
    sources: Tuple[Source, ...]
    last_reviewed: _dt.date  # the day the page was last checked against its sources
    review_by: _dt.date  # the day it must be checked again
    body: str  # the markdown, dated-fact markers taken out
    path: Path
    # old slugs of pages merged into this one: /guidance/<alias> redirects here (front matter `aliases`)
    aliases: Tuple[str, ...] = ()
    dated: Tuple[DatedFact, ...] = ()  # every {from:}/{until:}/{as at:} marker in the body

    def overdue(self, today: Optional[_dt.date] = None) -> bool:
        """Past its review_by date: the reader is told the page may be out of date."""
        return (today or _dt.date.today()) > self.review_by

    @property
    def passages(self) -> List[Passage]:
        return split_passages(self)


def anchor_for(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.S)


def parse_page(path: Path) -> Guidance:
    text = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(text)
    if not match:
        raise PageError(f"{path.name}: no YAML front matter between '---' lines at the top")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise PageError(f"{path.name}: front matter is not valid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise PageError(f"{path.name}: front matter must be a mapping of fields")
    missing = [f for f in REQUIRED_FIELDS if not meta.get(f)]
    if missing:
        raise PageError(f"{path.name}: front matter lacks {', '.join(missing)}")
    if meta["category"] not in CATEGORIES:
        raise PageError(f"{path.name}: category {meta['category']!r} is not one of {', '.join(CATEGORIES)}")
    sources = []
    for item in meta["sources"] if isinstance(meta["sources"], list) else [None]:
        if not isinstance(item, dict) or not item.get("title") or not str(item.get("url", "")).startswith("https://"):
            raise PageError(f"{path.name}: each source needs a title and an https:// url")
        sources.append(Source(str(item["title"]), str(item["url"])))
    reviewed, review_by = _date(meta["last_reviewed"]), _date(meta["review_by"])
    if reviewed is None:
        raise PageError(f"{path.name}: last_reviewed must be a date like 2026-11-26")
    if review_by is None:
        raise PageError(f"{path.name}: review_by must be a date like 2027-03-01")
    if review_by <= reviewed:
        raise PageError(f"{path.name}: review_by ({review_by}) must come after last_reviewed ({reviewed})")
    for field in ("title", "summary"):
        if _MARKER.search(str(meta[field])):
            raise PageError(f"{path.name}: a dated-fact marker belongs in the page text, not in {field}")
    raw = match.group(2)
    first_line = text[: match.start(2) + len(raw) - len(raw.lstrip())].count("\n") + 1
    body, dated = strip_markers(raw.strip(), path.name, first_line)
    aliases = meta.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and re.fullmatch(r"[a-z0-9-]+", a) for a in aliases):
        raise PageError(f"{path.name}: aliases must be a list of old slugs (lower-case letters, digits and -)")
    return Guidance(
        aliases=tuple(aliases),
        slug=str(meta["slug"]),
        title=str(meta["title"]),
        summary=str(meta["summary"]).strip(),
        category=meta["category"],
        sources=tuple(sources),
        last_reviewed=reviewed,
        review_by=review_by,
        body=body,
        path=path,
        dated=dated,
    )


def _date(value) -> Optional[_dt.date]:
    if isinstance(value, str):
        try:
            value = _dt.date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime) else None


def strip_markers(body: str, name: str = "page", first_line: int = 1) -> Tuple[str, Tuple[DatedFact, ...]]:
    """The body without its dated-fact markers, and the facts they mark (with their section);
    ``first_line`` is the body's line number in the file, for the errors."""
    lines: List[str] = []
    dated: list = []
    anchor = ""
    paragraph: List[str] = []  # the cleaned lines of the paragraph or list item so far
    for number, line in enumerate(body.splitlines(), first_line):
        if line.startswith("## "):
            anchor = anchor_for(line[3:].strip())
        if not line.strip() or line.startswith("#") or re.match(r"\s*(?:[-*]|\d+\.)\s", line):
            paragraph = []
        facts, clean, start = [], [], 0
        for match in _MARKER.finditer(line):
            kind, value = match.group(1).strip().lower(), match.group(2).strip()
            date = _date(value)
            if kind not in DATED_KINDS or date is None:
                raise PageError(
                    f"{name}: line {number}: {match.group(0).strip()!r} is not a dated-fact marker; "
                    "write {from: YYYY-MM-DD}, {until: YYYY-MM-DD} or {as at: YYYY-MM-DD}"
                )
            clean.append(line[start : match.start()])
            start = match.end()
            before = " ".join(paragraph + ["".join(clean)]).strip()
            sentence = _SENTENCE_END.split(before)[-1] if before else ""
            if not sentence.strip():
                raise PageError(f"{name}: line {number}: {match.group(0).strip()!r} must follow the words it dates")
            facts.append((kind, date, re.sub(r"^\s*(?:[-*]|\d+\.)\s+", "", sentence)))
        clean.append(line[start:])
        text = "".join(clean)
        paragraph = [] if line.startswith("#") else paragraph + [text.strip()]
        if line.startswith("## ") and facts:
            raise PageError(f"{name}: line {number}: a dated-fact marker belongs in the text, not a heading")
        dated.extend(DatedFact(kind, date, sentence.strip(), anchor) for kind, date, sentence in facts)
        lines.append(text)
    return "\n".join(lines), tuple(dated)


def split_passages(page: Guidance) -> List[Passage]:
    """Split a page along its ``## `` headings; text before the first is the intro."""
    passages = []
    heading, lines = page.title, []  # type: str, List[str]

    def flush():
        text = "\n".join(lines).strip()
        if text:
            anchor = "" if heading == page.title else anchor_for(heading)
            dated = tuple(d for d in page.dated if d.anchor == anchor)
            passages.append(Passage(page.slug, page.title, heading, anchor, text, dated))

    for line in page.body.splitlines():
        if line.startswith("## "):
            flush()
            heading, lines = line[3:].strip(), []
        elif line.startswith("# ") and not passages and not lines:
            continue  # a repeated page title
        else:
            lines.append(line)
    flush()
    return passages


def aliases_of(pages: Iterable[Guidance]) -> Dict[str, str]:
    """Old slug -> the slug of the page it was merged into."""
    return {alias: page.slug for page in pages for alias in page.aliases}


def load_pages(directory: Path) -> List[Guidance]:
    """Every page under ``directory`` (``knowledge/pages``), sorted by slug."""
    return sorted((parse_page(p) for p in sorted(Path(directory).glob("*.md"))), key=lambda g: g.slug)


def iter_passages(pages: Iterable[Guidance]) -> List[Passage]:
    return [passage for page in pages for passage in page.passages]
