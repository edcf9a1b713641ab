"""Guidance pages: markdown files with YAML front matter, split into passages."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import yaml

CATEGORIES = (
    "basics", "legal-forms", "spinning-out", "staff", "rights",
    "procurement", "finance", "governance", "about",
)
REQUIRED_FIELDS = ("title", "slug", "summary", "category", "sources", "last_reviewed")


class PageError(ValueError):
    """A guidance page that cannot be read; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Source:
    title: str
    url: str


@dataclasses.dataclass(frozen=True)
class Passage:
    """One section of a page: the unit the assistant answers with."""

    slug: str
    page_title: str
    heading: str
    anchor: str
    text: str

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
    last_reviewed: _dt.date
    body: str
    path: Path
    # old slugs of pages merged into this one: /guidance/<alias> redirects here (front matter `aliases`)
    aliases: Tuple[str, ...] = ()

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
    reviewed = meta["last_reviewed"]
    if isinstance(reviewed, str):
        try:
            reviewed = _dt.date.fromisoformat(reviewed)
        except ValueError:
            reviewed = None
    if not isinstance(reviewed, _dt.date):
        raise PageError(f"{path.name}: last_reviewed must be a date like 2026-11-26")
    aliases = meta.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and re.fullmatch(r"[a-z0-9-]+", a) for a in aliases):
        raise PageError(f"{path.name}: aliases must be a list of old slugs (lower-case letters, digits and -)")
    return Guidance(
        aliases=tuple(aliases),
        slug=str(meta["slug"]), title=str(meta["title"]), summary=str(meta["summary"]).strip(),
        category=meta["category"], sources=tuple(sources), last_reviewed=reviewed,
        body=match.group(2).strip(), path=path,
    )


def split_passages(page: Guidance) -> List[Passage]:
    """Split a page along its ``## `` headings; text before the first is the intro."""
    passages = []
    heading, lines = page.title, []

    def flush():
        text = "\n".join(lines).strip()
        if text:
            anchor = "" if heading == page.title else anchor_for(heading)
            passages.append(Passage(page.slug, page.title, heading, anchor, text))

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
