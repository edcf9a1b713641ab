"""bot/rasa_patches: every Rasa and python-socketio function a patch changes or relies on is
still the source it was written against (else the failure names the patch to review), the
patches refuse to install on another Rasa, and installing them twice is the same as once."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

import bot.rasa_patches as patches
from bot.rasa_patches import _fingerprints
from bot.rasa_patches._marks import MARK
from bot.settings import ROOT


def test_every_patched_function_is_the_source_its_patch_was_written_against():
    changed = _fingerprints.differences(_fingerprints.current(), _fingerprints.recorded())
    assert not changed, (
        "Rasa or python-socketio changed under a patch; review it, then run "
        "`python -m bot.rasa_patches._fingerprints --write`:\n" + "\n".join(changed)
    )


def test_a_changed_function_is_reported_with_the_patch_to_review():
    now = _fingerprints.current()
    then = {target: dict(entry) for target, entry in now.items()}
    target = "rasa.core.lock_store:LockStore._acquire_lock"
    then[target]["sha256"] = "0" * 64
    assert _fingerprints.differences(now, then) == [
        f"{target} changed: review patch patient_tickets (bot/rasa_patches/patient_tickets.py)"
    ]


def test_each_patch_names_what_it_changes_and_how():
    for patch in patches.PATCHES:
        assert patch.NAME == patch.__name__.rsplit(".", 1)[1]
        assert patch.TARGETS and set(patch.ATTRIBUTES) <= set(patch.TARGETS), patch.NAME
        assert patch.HOW and len(inspect.getdoc(patch)) > 200, patch.NAME  # says what and why
        for target in patch.TARGETS:
            assert inspect.getsource(_fingerprints.resolve(target)), target


def test_the_pins_are_pyprojects():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for package, version in patches.PINNED.items():
        assert re.search(rf'"{re.escape(package)}=={re.escape(version)}"', text), package
    assert patches.installed_versions() == patches.PINNED  # and they are what this venv has


@pytest.mark.parametrize("package, version", [("rasa", "3.6.20"), ("rasa", "3.7.0"), ("python-socketio", "5.10.0")])
def test_another_version_is_refused_with_a_sentence_and_nothing_installed(monkeypatch, package, version):
    from rasa.core.processor import MessageProcessor

    before = MessageProcessor.__dict__["handle_message"]
    found = dict(patches.PINNED, **{package: version})
    monkeypatch.setattr(patches, "installed_versions", lambda: found)
    with pytest.raises(patches.UnsupportedVersion) as refused:
        patches.install_all(action_timeout_seconds=5, handoff_store_url="sqlite://")
    message = str(refused.value)
    assert f"installed: {package} {version} (pinned: {patches.PINNED[package]})" in message
    assert "rasa 3.6.21 and python-socketio 5.9.0" in message
    assert MessageProcessor.__dict__["handle_message"] is before


def _attribute(target):
    module_name, _, qualname = target.partition(":")
    owner = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, name


@pytest.fixture
def pristine():
    """Every attribute the patches set, put back as it was after the test."""
    saved = []
    for patch in patches.PATCHES:
        for target in patch.ATTRIBUTES:
            owner, name = _attribute(target)
            saved.append((owner, name, owner.__dict__[name]))
    import rasa.core.actions.action as rasa_actions

    timeout = rasa_actions.DEFAULT_REQUEST_TIMEOUT
    yield
    for owner, name, value in saved:
        setattr(owner, name, value)
    rasa_actions.DEFAULT_REQUEST_TIMEOUT = timeout


def test_installing_twice_is_installing_once(pristine):
    patches.install_all(action_timeout_seconds=7, handoff_store_url="sqlite://")
    first = {t: _attribute(t)[0].__dict__[_attribute(t)[1]] for p in patches.PATCHES for t in p.ATTRIBUTES}
    patches.install_all(action_timeout_seconds=7, handoff_store_url="sqlite://")
    second = {t: _attribute(t)[0].__dict__[_attribute(t)[1]] for p in patches.PATCHES for t in p.ATTRIBUTES}
    assert first and first == second
    for target, value in second.items():
        value = value.__func__ if isinstance(value, staticmethod) else value
        assert getattr(value, MARK) in {p.NAME for p in patches.PATCHES}, target
        assert _fingerprints.resolve(target) is not value  # the original stays reachable
