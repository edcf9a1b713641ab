"""How people ask what each section answers, in their own words: ``knowledge/phrasings/<slug>.yml``.

A section's text says things the way guidance does ("admitted body status", "employee liability
information"); people ask "will I keep my council pension?". Each section lists a few questions a
member of the public might type for which it is the best answer, written from the page (never
from the evaluation questions in ``knowledge/questions/``). Retrieval embeds them and scores a
section by how close a question comes to the nearest of them, beside its text (docs/retrieval.md).

    page: tupe-staff-transfer
    sections:
      does-tupe-protect-my-pension:   # the section's anchor; `intro` for text before the first heading
        - will i lose my council pension if my job moves to the mutual
        - ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import yaml

from ._pages import Guidance, PageError

INTRO = "intro"  # the key of a page's text before its first heading (a passage with no anchor)
FEWEST, MOST = 2, 5
SHORTEST, LONGEST = 8, 200


def phrasings_dir(pages_dir: Path) -> Path:
    """``knowledge/phrasings`` beside ``knowledge/pages``."""
    return Path(pages_dir).parent / "phrasings"


def check_phrasings(directory: Path, pages: Sequence[Guidance]) -> List[str]:
    """Every problem, one sentence each naming the file: a page without a file, a file for no page,
    a section missing or unknown, a list too short or too long, a phrasing that is not a question's
    length of plain text. No ``directory`` at all is no problem: the pages are searched on their text."""
    problems, _ = _read(directory, pages)
    return problems


def load_phrasings(directory: Path, pages: Sequence[Guidance]) -> Dict[str, Tuple[str, ...]]:
    """Passage id (``slug#anchor``, or ``slug`` for an intro) -> its phrasings (none without a
    ``directory``); a clear error if any file breaks the rules (``mutuals knowledge check`` lists
    them all)."""
    problems, found = _read(directory, pages)
    if problems:
        raise PageError(f"{problems[0]} (and {len(problems) - 1} more)" if len(problems) > 1 else problems[0])
    return found


def _read(directory: Path, pages: Sequence[Guidance]):
    directory = Path(directory)
    problems: List[str] = []
    found: Dict[str, Tuple[str, ...]] = {}
    if not directory.is_dir():  # a knowledge directory of pages alone
        return problems, found
    by_slug = {page.slug: page for page in pages}
    for path in sorted(directory.glob("*.yml")):
        if path.stem not in by_slug:
            problems.append(f"phrasings/{path.name}: there is no guidance page {path.stem!r}")
    for page in pages:
        name = f"phrasings/{page.slug}.yml"
        path = directory / f"{page.slug}.yml"
        if not path.is_file():
            problems.append(f"{name}: missing; every page lists how people ask what its sections answer")
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{name}: not valid YAML ({exc.__class__.__name__})")
            continue
        if not isinstance(data, dict) or data.get("page") != page.slug or not isinstance(data.get("sections"), dict):
            problems.append(f"{name}: must hold 'page: {page.slug}' and a 'sections' mapping")
            continue
        sections = data["sections"]
        passages = {(p.anchor or INTRO): p for p in page.passages}
        for key in passages.keys() - sections.keys():
            problems.append(f"{name}: section {key!r} has no phrasings")
        for key in sections.keys() - passages.keys():
            problems.append(f"{name}: {key!r} is not a section of the page")
        for key, phrasings in sections.items():
            if key not in passages:
                continue
            if not isinstance(phrasings, list) or not FEWEST <= len(phrasings) <= MOST:
                problems.append(f"{name}: section {key!r} needs {FEWEST} to {MOST} phrasings in a list")
                continue
            bad = [p for p in phrasings if not isinstance(p, str) or not SHORTEST <= len(p.strip()) <= LONGEST]
            if bad:
                problems.append(
                    f"{name}: section {key!r} has a phrasing that is not {SHORTEST}-{LONGEST} "
                    f"characters of text: {str(bad[0])[:60]!r}"
                )
                continue
            found[passages[key].id] = tuple(p.strip() for p in phrasings)
    return problems, found


__all__ = ["INTRO", "check_phrasings", "load_phrasings", "phrasings_dir"]
