"""From a gap to the guidance: a phrasing written in its file's format and checked, the question
kept in the approved set, a read-only knowledge folder exported as a patch, and a running desk
that picks the change up by itself, embedding only what is new."""

import logging
import os
import shutil
import stat

import pytest
import yaml

from bot.guidance import GuidanceDesk, GuidanceIndex
from bot.guidance._reload import KnowledgeWatcher
from bot.insights._loop import GapError, add_phrasing, approved_questions, check_stays_answered, start_draft
from bot.settings import ROOT

PAGES = ("asset-locks", "about-this-assistant")
QUESTION = "if we wind up, can the members split what is left between them?"
SECTION = "asset-locks#does-an-asset-lock-stop-a-mutual-being-sold-off"


def knowledge_copy(tmp_path):
    k = tmp_path / "knowledge"
    for part in ("pages", "phrasings", "questions"):
        (k / part).mkdir(parents=True)
    for slug in PAGES:
        shutil.copy(ROOT / "knowledge" / "pages" / f"{slug}.md", k / "pages")
        shutil.copy(ROOT / "knowledge" / "phrasings" / f"{slug}.yml", k / "phrasings")
    return k


def test_a_phrasing_is_added_in_the_files_format_and_the_question_kept(tmp_path):
    k = knowledge_copy(tmp_path)
    before = (k / "phrasings" / "asset-locks.yml").read_text()
    change = add_phrasing(k, SECTION, QUESTION, tmp_path / "patches", group_id=4)
    after = (k / "phrasings" / "asset-locks.yml").read_text()
    assert change.patch is None and change.written == ["phrasings/asset-locks.yml", "questions/approved-gaps.yml"]
    assert [line for line in before.splitlines() if line.startswith("#")] == [
        line for line in after.splitlines() if line.startswith("#")
    ]  # the comments are kept
    sections = yaml.safe_load(after)["sections"]
    assert sections["does-an-asset-lock-stop-a-mutual-being-sold-off"][-1] == QUESTION
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    assert approved_questions(k / "questions") == [
        {
            "q": QUESTION,
            "slug": "asset-locks",
            "section": "does-an-asset-lock-stop-a-mutual-being-sold-off",
            "gap_group": 4,
            "approved": approved_questions(k / "questions")[0]["approved"],
        }
    ]
    with pytest.raises(GapError, match="already has"):
        add_phrasing(k, SECTION, QUESTION, tmp_path / "patches")


def test_the_knowledge_check_refuses_a_sixth_phrasing(tmp_path):
    k = knowledge_copy(tmp_path)
    path = k / "phrasings" / "asset-locks.yml"
    for n in range(2):
        add_phrasing(k, SECTION, f"another way of asking number {n}", tmp_path / "patches")
    before = path.read_text()
    with pytest.raises(GapError, match="knowledge check refuses.*2 to 5 phrasings"):
        add_phrasing(k, SECTION, "one too many ways of asking", tmp_path / "patches")
    assert path.read_text() == before


@pytest.mark.parametrize(
    "how",
    [
        "setting",
        pytest.param(
            "permissions", marks=pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
        ),
    ],
)
def test_a_read_only_knowledge_folder_gets_a_patch_instead(tmp_path, monkeypatch, how):
    k = knowledge_copy(tmp_path)
    before = (k / "phrasings" / "asset-locks.yml").read_text()
    folders = [k, *[p for p in k.rglob("*") if p.is_dir()]]
    if how == "setting":
        monkeypatch.setenv("MUTUALS_KNOWLEDGE_READ_ONLY", "1")
    else:
        for d in folders:
            d.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        change = add_phrasing(k, SECTION, QUESTION, tmp_path / "patches")
        draft = start_draft(
            k, {"id": 3, "examples": ["q1"], "advisers_replied": ["r1"], "nearest": ""}, tmp_path / "patches"
        )
    finally:
        for d in folders:
            d.chmod(stat.S_IRWXU)
    assert change.patch is not None and draft.patch is not None
    patch = change.patch.read_text()
    assert "+++ b/knowledge/phrasings/asset-locks.yml" in patch and f"+    - {QUESTION}" in patch
    assert "+++ b/knowledge/questions/approved-gaps.yml" in patch
    assert (k / "phrasings" / "asset-locks.yml").read_text() == before and not (
        k / "questions" / "approved-gaps.yml"
    ).exists()


def test_a_running_desk_picks_up_the_phrasing_and_embeds_only_it(tmp_path, embedder, caplog):
    k = knowledge_copy(tmp_path)
    desk = GuidanceDesk(GuidanceIndex.build(k / "pages", tmp_path / "index", embedder), "http://guidance.test")
    current = {"desk": desk}
    watcher = KnowledgeWatcher(
        lambda: current["desk"], lambda d: current.update(desk=d), k / "pages", tmp_path / "index"
    )
    assert watcher.check() is False  # nothing changed
    question = "can we just sell the whole organisation to a private company later on?"
    add_phrasing(k, SECTION, question, tmp_path / "patches")
    with caplog.at_level(logging.INFO, logger="bot.guidance._reload"):
        assert watcher.check() is True
    assert "1 text(s) embedded anew" in caplog.text
    fresh = current["desk"]
    assert fresh is not desk and desk.index.phrasings != fresh.index.phrasings
    answer = fresh.answer(question)
    assert answer.answered and answer.passage_id == SECTION
    assert check_stays_answered(fresh, k / "questions") == []
