"""`mutuals knowledge check`: the rules every guidance page must keep."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from pathlib import Path
from typing import Dict, List

from ._own_words import check_own_words
from ._pages import Guidance, PageError, parse_page, split_passages, anchor_for
from ._phrasings import check_phrasings, phrasings_dir

MAX_SECTION_CHARS = 700
MAX_REVIEW_DAYS = 366  # no page goes more than a year without being checked against its sources
_LINK = re.compile(r"\]\((/guidance/[^)\s]*)\)")


def check_pages(pages_dir: Path) -> List[str]:
    """Every problem found, one sentence each naming the file; empty when all is well."""
    problems: List[str] = []
    pages = []
    paths = sorted(Path(pages_dir).glob("*.md"))
    if not paths:
        return [f"{pages_dir}: no guidance pages (*.md) found"]
    for path in paths:
        try:
            page = parse_page(path)
        except PageError as exc:
            problems.append(str(exc))
            continue
        if page.slug != path.stem:
            problems.append(f"{path.name}: slug {page.slug!r} differs from the file name")
        if (page.review_by - page.last_reviewed).days > MAX_REVIEW_DAYS:
            problems.append(
                f"{path.name}: review_by {page.review_by} is more than a year after last_reviewed "
                f"{page.last_reviewed}; every page is checked at least once a year"
            )
        pages.append(page)
    slugs: Dict[str, Path] = {}
    for page in pages:
        if page.slug in slugs:
            problems.append(f"{page.path.name}: slug {page.slug!r} is also used by {slugs[page.slug].name}")
        slugs[page.slug] = page.path
    aliases: Dict[str, Path] = {}
    for page in pages:
        for alias in page.aliases:
            if alias in slugs:
                problems.append(f"{page.path.name}: alias {alias!r} is the slug of {slugs[alias].name}")
            elif alias in aliases:
                problems.append(f"{page.path.name}: alias {alias!r} is also an alias of {aliases[alias].name}")
            aliases[alias] = page.path
    anchors = {p.slug: {x.anchor for x in split_passages(p)} for p in pages}
    for page in pages:
        passages = split_passages(page)
        if not passages:
            problems.append(f"{page.path.name}: the page has no text")
        for passage in passages:
            if len(passage.text) > MAX_SECTION_CHARS:
                problems.append(
                    f"{page.path.name}: section {passage.heading!r} has {len(passage.text)} characters; "
                    f"an answer must fit in {MAX_SECTION_CHARS}"
                )
        for target in _LINK.findall(page.body):
            slug, _, anchor = target[len("/guidance/") :].partition("#")
            if slug in aliases:
                problems.append(f"{page.path.name}: link to {target} uses an old slug; link to the page it became")
            elif slug not in slugs:
                problems.append(f"{page.path.name}: link to {target} points at no page")
            elif anchor and anchor not in anchors[slug]:
                problems.append(f"{page.path.name}: link to {target} points at no section of {slug}")
    problems.extend(check_phrasings(phrasings_dir(pages_dir), pages))  # how people ask what each section answers
    problems.extend(check_own_words(pages, sources_dir(pages_dir)))  # nothing copied word for word
    return problems


def sources_dir(pages_dir: Path) -> Path:
    """``knowledge/sources/``: the source passages pages have been compared with (optional)."""
    return Path(pages_dir).parent / "sources"


@dataclasses.dataclass(frozen=True)
class Due:
    """One line of the editors' worklist: something on a page that must be checked or reworded."""

    due: _dt.date
    where: str  # slug, or slug#section
    what: str
    why: str

    def line(self, today: _dt.date) -> str:
        flag = "due" if self.due <= today else "soon"
        return f"{flag} {self.due.isoformat()}  {self.where}  {self.what}: {self.why}"


def _quote(sentence: str, limit: int = 110) -> str:
    return f"“{sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + '…'}”"


def worklist(pages: List[Guidance], today: _dt.date, ahead: int = 0) -> List[Due]:
    """What falls due on or before ``today`` (+ ``ahead`` days), soonest first: pages past their
    review_by date, and dated changes that have happened (so "from 1 January 2027" is reworded)."""
    horizon = today + _dt.timedelta(days=ahead)
    items = []
    for page in pages:
        as_at = [d for d in page.dated if d.kind == "as at"]
        if page.review_by <= horizon:
            why = f"review_by {page.review_by}, last checked {page.last_reviewed}"
            if as_at:
                why += f"; first re-check the {len(as_at)} fact(s) marked 'as at'"
            items.append(Due(page.review_by, page.slug, "check the page against its sources", why))
        for fact in page.dated:
            if fact.due is None or fact.due > horizon:
                continue
            where = f"{page.slug}#{fact.anchor}" if fact.anchor else page.slug
            if fact.kind == "from":
                why = f"{_quote(fact.sentence)} took effect on {fact.date}; say what the rule is now"
            else:
                why = f"{_quote(fact.sentence)} ended on {fact.date}; say what replaced it, or remove it"
            items.append(Due(fact.due, where, f"reword a dated change ({{{fact.kind}: {fact.date}}})", why))
    return sorted(items, key=lambda d: (d.due, d.where, d.what))


def load_checkable(pages_dir: Path) -> List[Guidance]:
    """The pages that parse (check_pages reports the others)."""
    pages = []
    for path in sorted(Path(pages_dir).glob("*.md")):
        try:
            pages.append(parse_page(path))
        except PageError:
            pass
    return pages


__all__ = [
    "check_pages",
    "worklist",
    "Due",
    "load_checkable",
    "sources_dir",
    "MAX_SECTION_CHARS",
    "MAX_REVIEW_DAYS",
    "anchor_for",
]
