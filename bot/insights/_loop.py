"""From a knowledge gap to the guidance, with a person deciding (the gap page's three buttons).

- :func:`add_phrasing`: a missed question becomes a phrasing of an existing section, written into
  ``knowledge/phrasings/<slug>.yml`` in its format, and joins ``knowledge/questions/approved-gaps.yml``
  (its ``stays_answered`` list, which the evaluation does not read: a phrasing that is also an
  evaluation question would flatter the figures) so :func:`check_stays_answered` can show it stays
  answered from that section.
- :func:`start_draft`: a new section drafted from the advisers' replies, for an editor to finish,
  in ``knowledge/drafts/`` (never served or searched: not under ``pages/``).
- dismissing a group is :func:`bot.insights._gaps.decide` with the reason.

Every change is checked with ``mutuals knowledge check``'s own rules (:func:`check_pages`): one
that adds a problem is not written. When the knowledge folder cannot be written, the change is
exported as a patch under ``var/insights/patches/`` instead, checked on a copy first. Running
action servers pick up a written phrasing within seconds (bot/guidance/_reload.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

from bot.guidance._check import check_pages
from bot.guidance._phrasings import INTRO, LONGEST, SHORTEST
from bot.settings import Settings

APPROVED_FILE = "approved-gaps.yml"
_writing = threading.Lock()  # two supervisors approving at once: one change after the other, neither lost


class GapError(ValueError):
    """A change the loop refuses; the message says why, for the supervisor."""


@dataclasses.dataclass(frozen=True)
class Change:
    """What was done: files written, or a patch exported for someone who can write them."""

    written: Sequence[str]  # paths relative to the knowledge folder
    patch: Optional[Path] = None

    def describe(self) -> str:
        if self.patch is not None:
            return f"the knowledge folder is read-only, so the change was exported as a patch: {self.patch.name}"
        return "written to " + ", ".join(f"knowledge/{w}" for w in self.written)


def _writable(directory: Path) -> bool:
    """Whether the knowledge folder can be written (``MUTUALS_KNOWLEDGE_READ_ONLY=1`` says it may
    not be, for a deployment whose guidance changes only through review of the patches)."""
    if Settings.from_env().knowledge_read_only:
        return False
    return os.access(directory, os.W_OK) and all(os.access(p, os.W_OK) for p in directory.rglob("*") if p.is_dir())


def _yaml_item(text: str, indent: str) -> str:
    dumped = yaml.safe_dump([text], allow_unicode=True, width=1000).strip()
    return f"{indent}{dumped}\n"


def with_phrasing(original: str, anchor: str, question: str) -> str:
    """The phrasings file's text with ``question`` added to section ``anchor``'s list, keeping
    every comment and line as it was."""
    lines = original.splitlines(keepends=True)
    key = re.compile(rf"^(\s+){re.escape(anchor)}:\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if key.match(line.rstrip("\n"))), None)
    if start is None:
        raise GapError(f"the phrasings file has no section {anchor!r}")
    section_indent = len(key.match(lines[start].rstrip("\n")).group(1))
    end, item_indent = start + 1, " " * (section_indent + 2)
    while end < len(lines):
        stripped = lines[end].strip()
        indent = len(lines[end]) - len(lines[end].lstrip())
        if stripped.startswith("- ") and indent > section_indent:
            item_indent = " " * indent
            end += 1
        elif not stripped or (stripped.startswith("#") and indent > section_indent):
            end += 1
        else:
            break
    while end > start + 1 and not lines[end - 1].strip():  # after the last item, not after blank lines
        end -= 1
    if lines and not lines[-1].endswith("\n") and end == len(lines):
        lines[-1] += "\n"
    return "".join(lines[:end]) + _yaml_item(question, item_indent) + "".join(lines[end:])


def _approved_text(original: str, entry: Dict[str, str]) -> str:
    data = yaml.safe_load(original) if original.strip() else None
    data = data if isinstance(data, dict) else {}
    items = list(data.get("stays_answered") or [])
    if not any(i.get("q") == entry["q"] for i in items if isinstance(i, dict)):
        items.append(entry)
    header = (
        "# Questions people asked that the assistant missed, approved on the gap page as phrasings of\n"
        "# these sections (bot/insights/_loop.py): each must stay answered from its section. Not part of\n"
        "# the evaluation splits (a phrasing that is also an evaluation question would flatter them).\n"
    )
    return header + yaml.safe_dump({"stays_answered": items}, allow_unicode=True, sort_keys=False, width=1000)


def _patch(knowledge_dir: Path, changes: Dict[str, tuple], out_dir: Path, name: str) -> Path:
    """A unified diff (``git apply``-able from the repository root) of ``changes``: path -> (old, new)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    for rel, (old, new) in sorted(changes.items()):
        a = f"a/knowledge/{rel}" if old is not None else "/dev/null"
        parts.extend(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=a,
                tofile=f"b/knowledge/{rel}",
            )
        )
    path = out_dir / f"{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{name}.patch"
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _apply(knowledge_dir: Path, changes: Dict[str, tuple], patch_dir: Path, name: str, check: bool = True) -> Change:
    """Write ``changes`` (path -> (old text or None, new text)) if they add no problem to the
    knowledge check; into a patch when the folder is read-only."""
    knowledge_dir = Path(knowledge_dir)
    if check:
        with tempfile.TemporaryDirectory() as scratch:  # checked on a copy: nothing half-written is ever served
            copy = Path(scratch) / "knowledge"
            for part in knowledge_dir.iterdir():  # what the check reads; not the question set or drafts
                if part.is_dir() and part.name not in ("questions", "drafts", "sources"):
                    shutil.copytree(part, copy / part.name)
            if (knowledge_dir / "sources").is_dir():
                (copy / "sources").symlink_to((knowledge_dir / "sources").resolve())
            before = set(check_pages(copy / "pages"))
            for rel, (_, new) in changes.items():
                (copy / rel).parent.mkdir(parents=True, exist_ok=True)
                (copy / rel).write_text(new, encoding="utf-8")
            added = [p for p in check_pages(copy / "pages") if p not in before]
        if added:
            raise GapError("mutuals knowledge check refuses this change: " + "; ".join(added[:3]))
    if not _writable(knowledge_dir):
        return Change([], _patch(knowledge_dir, changes, patch_dir, name))
    try:
        for rel, (_, new) in changes.items():
            target = knowledge_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.new")
            temporary.write_text(new, encoding="utf-8")
            os.replace(temporary, target)  # whole or not at all, for the watcher reading it
    except OSError:  # a read-only file system says so only when written to
        return Change([], _patch(knowledge_dir, changes, patch_dir, name))
    return Change(sorted(changes))


def _read(path: Path) -> Optional[str]:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def add_phrasing(knowledge_dir: Path, passage_id: str, question: str, patch_dir: Path, group_id: int = 0) -> Change:
    """Add ``question`` as a phrasing of the section ``slug#anchor`` (``slug`` for a page's intro)."""
    with _writing:
        return _add_phrasing(knowledge_dir, passage_id, question, patch_dir, group_id)


def _add_phrasing(knowledge_dir: Path, passage_id: str, question: str, patch_dir: Path, group_id: int) -> Change:
    question = " ".join(str(question or "").split())
    if not SHORTEST <= len(question) <= LONGEST:
        raise GapError(f"a phrasing is {SHORTEST} to {LONGEST} characters long")
    slug, _, anchor = passage_id.partition("#")
    if not re.fullmatch(r"[a-z0-9-]+", slug or "") or (anchor and not re.fullmatch(r"[a-z0-9-]+", anchor)):
        raise GapError("choose a section of the guidance")
    knowledge_dir = Path(knowledge_dir)
    rel = f"phrasings/{slug}.yml"
    old = _read(knowledge_dir / rel)
    if old is None:
        raise GapError(f"there is no guidance page {slug!r}")
    data = yaml.safe_load(old) or {}
    existing = [str(p).strip().lower() for p in ((data.get("sections") or {}).get(anchor or INTRO) or [])]
    if question.lower() in existing:
        raise GapError("that section already has this phrasing")
    approved_rel = f"questions/{APPROVED_FILE}"
    old_approved = _read(knowledge_dir / approved_rel)
    entry = {
        "q": question,
        "slug": slug,
        "section": anchor or INTRO,
        "gap_group": int(group_id),
        "approved": dt.date.today().isoformat(),
    }
    changes = {
        rel: (old, with_phrasing(old, anchor or INTRO, question)),
        approved_rel: (old_approved, _approved_text(old_approved or "", entry)),
    }
    return _apply(knowledge_dir, changes, Path(patch_dir), f"phrasing-{slug}")


def draft_text(group: dict, nearest_title: str = "") -> str:
    """A new section's draft: the questions it must answer and what advisers told people."""
    lines = [
        f"# Draft section from knowledge gap {group['id']} (not published)",
        "",
        "For an editor: write one section (at most 700 characters, in plain English and our own words) that",
        "answers these questions, check it against the sources, then move it into a page under",
        "`knowledge/pages/` with 2 to 5 phrasings, and run `mutuals knowledge check`.",
        "",
        f"Nearest section today: {group.get('nearest') or 'none'}"
        + (f" ({nearest_title})" if nearest_title else "")
        + (f", score {group['nearest_score']}" if group.get("nearest_score") is not None else ""),
        "",
        "## Questions people asked",
        "",
    ]
    lines += [f"- {q}" for q in group.get("examples") or []]
    lines += ["", "## What advisers replied", ""]
    lines += [f"> {reply}" for reply in group.get("advisers_replied") or []] or ["(no adviser reply recorded yet)"]
    lines += ["", "## Heading (a question people ask)", "", "Text of the section.", ""]
    return "\n".join(lines)


def start_draft(knowledge_dir: Path, group: dict, patch_dir: Path, nearest_title: str = "") -> Change:
    rel = f"drafts/gap-{int(group['id'])}.md"
    knowledge_dir = Path(knowledge_dir)
    return _apply(
        knowledge_dir,
        {rel: (_read(knowledge_dir / rel), draft_text(group, nearest_title))},
        Path(patch_dir),
        f"draft-gap-{int(group['id'])}",
        check=False,
    )


def approved_questions(questions_dir: Path) -> List[dict]:
    text = _read(Path(questions_dir) / APPROVED_FILE)
    data = yaml.safe_load(text) if text else None
    return [i for i in (data or {}).get("stays_answered") or [] if isinstance(i, dict) and i.get("q")]


def check_stays_answered(desk, questions_dir: Path) -> List[str]:
    """Each approved gap question the desk no longer answers from its section, one sentence each."""
    problems = []
    for item in approved_questions(questions_dir):
        answer = desk.answer(item["q"])
        section = item.get("section") or INTRO
        expected = item["slug"] if section == INTRO else f"{item['slug']}#{section}"
        if not answer.answered or answer.passage_id != expected:
            problems.append(
                f"{APPROVED_FILE}: {item['q']!r} is no longer answered from {expected} "
                f"(got {answer.passage_id or answer.reason})"
            )
    return problems


__all__ = [
    "APPROVED_FILE",
    "Change",
    "GapError",
    "add_phrasing",
    "approved_questions",
    "check_stays_answered",
    "draft_text",
    "start_draft",
    "with_phrasing",
]
