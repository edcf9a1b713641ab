"""`mutuals knowledge check`: the rules every guidance page must keep."""
from __future__ import annotations

import re
from pathlib import Path
from typing import List

from ._pages import PageError, parse_page, split_passages, anchor_for
from ._phrasings import check_phrasings, phrasings_dir

MAX_SECTION_CHARS = 700
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
        pages.append(page)
    slugs = {}
    for page in pages:
        if page.slug in slugs:
            problems.append(f"{page.path.name}: slug {page.slug!r} is also used by {slugs[page.slug].name}")
        slugs[page.slug] = page.path
    aliases = {}
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
                    f"an answer must fit in {MAX_SECTION_CHARS}")
        for target in _LINK.findall(page.body):
            slug, _, anchor = target[len("/guidance/"):].partition("#")
            if slug in aliases:
                problems.append(f"{page.path.name}: link to {target} uses an old slug; link to the page it became")
            elif slug not in slugs:
                problems.append(f"{page.path.name}: link to {target} points at no page")
            elif anchor and anchor not in anchors[slug]:
                problems.append(f"{page.path.name}: link to {target} points at no section of {slug}")
    problems.extend(check_phrasings(phrasings_dir(pages_dir), pages))  # how people ask what each section answers
    return problems


__all__ = ["check_pages", "MAX_SECTION_CHARS", "anchor_for"]
