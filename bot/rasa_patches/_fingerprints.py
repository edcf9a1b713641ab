"""The sha256 of the source of every Rasa and python-socketio function the patches change or
rely on (each patch's ``TARGETS``), as checked in to ``fingerprints.json``.

``python -m bot.rasa_patches._fingerprints`` prints what differs; ``--write`` records the
current sources, once every patch named has been reviewed against them.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any, Dict

from ._marks import original_of

FILE = Path(__file__).with_name("fingerprints.json")


def resolve(target: str) -> Any:
    """``"package.module:Class.attribute"`` -> the object as Rasa defines it (under any patch)."""
    module_name, _, qualname = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        owner = value
        value = inspect.getattr_static(owner, part)
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        elif isinstance(value, property):
            value = value.fget
    return original_of(value)


def fingerprint(target: str) -> str:
    return hashlib.sha256(inspect.getsource(resolve(target)).encode("utf-8")).hexdigest()


def current() -> Dict[str, Dict[str, str]]:
    """``{target: {"patch": name, "sha256": ...}}`` for every target of every patch."""
    from . import PATCHES

    out: Dict[str, Dict[str, str]] = {}
    for patch in PATCHES:
        for target in patch.TARGETS:
            out[target] = {"patch": patch.NAME, "sha256": fingerprint(target)}
    return dict(sorted(out.items()))


def recorded() -> Dict[str, Dict[str, str]]:
    return json.loads(FILE.read_text(encoding="utf-8"))


def differences(now: Dict[str, Dict[str, str]], then: Dict[str, Dict[str, str]]) -> list:
    """One sentence for each target whose source changed, appeared or went."""
    out = []
    for target in sorted(set(now) | set(then)):
        if target not in then:
            out.append(f"{target} (patch {now[target]['patch']}) has no recorded fingerprint")
        elif target not in now:
            out.append(f"{target} (patch {then[target]['patch']}) is recorded but no patch names it")
        elif now[target]["sha256"] != then[target]["sha256"]:
            out.append(
                f"{target} changed: review patch {now[target]['patch']} (bot/rasa_patches/{now[target]['patch']}.py)"
            )
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    now = current()
    if "--write" in argv:
        FILE.write_text(json.dumps(now, indent=2) + "\n", encoding="utf-8")
        print(f"Recorded {len(now)} fingerprints in {FILE}")
        return 0
    found = differences(now, recorded())
    print("\n".join(found) or f"All {len(now)} fingerprints match.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
