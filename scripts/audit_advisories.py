"""The dependency audit's fallback: requirements.lock against safety-db's advisories (July 2021).

Run by scripts/audit.py (make audit) with the Python of the audit tools' venv (var/tools/),
which has safety-db and a current `packaging`; it imports nothing of the project's. Prints JSON:

    {"dataset": {"version", "date"}, "audited": <pins>, "with_advisories": [<pins the dataset names>],
     "findings": [{"name", "version", "id", "cve",
     "specs", "advisory", "fixed", "fixed_allowed", "pinned_by"}, ...]}

`fixed` is the first release after the pin that no spec of the advisory matches (releases from PyPI's
project JSON, else the advisories' own upper bounds); `fixed_allowed` the first such release that
every requirement on the package in the installed environment allows (read as `pip check` reads
them: extras not applied); `pinned_by` those requirements.

    python advisories.py REQUIREMENTS_LOCK SITE_PACKAGES [NAME ...]   (NAMEs: audit only these)
"""

from __future__ import annotations

import datetime
import functools
import importlib.metadata
import importlib.util
import json
import sys
import urllib.request
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def load_dataset() -> tuple[dict, dict[str, list[dict]]]:
    """safety-db's insecure_full.json by canonical name (its __init__ reads a path that does not exist)."""
    package = Path(importlib.util.find_spec("safety_db").submodule_search_locations[0])
    raw = json.loads((package / "insecure_full.json").read_text())
    meta = raw.pop("$meta")
    advisories: dict[str, list[dict]] = {}
    for name, entries in raw.items():  # "web.py" and "web-py" are both keys: merge them
        advisories.setdefault(canonicalize_name(name), []).extend(entries)
    date = datetime.datetime.fromtimestamp(meta["timestamp"], datetime.timezone.utc).date().isoformat()
    return {"version": importlib.metadata.version("safety-db"), "date": date}, advisories


def read_pins(lock: Path) -> list[tuple[str, Version]]:
    pins = []
    for line in lock.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins.append((name.strip(), Version(version.strip())))
    return pins


def requirements_on(site: str) -> dict[str, list[tuple[str, SpecifierSet]]]:
    """canonical name -> [("rasa 3.6.21", <its specifier>), ...] over the environment installed at site."""
    on: dict[str, list[tuple[str, SpecifierSet]]] = {}
    for dist in importlib.metadata.distributions(path=[site]):
        for text in dist.requires or []:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                on.setdefault(canonicalize_name(req.name), []).append(
                    (f"{dist.metadata['Name']} {dist.version}", req.specifier)
                )
    return on


@functools.lru_cache(maxsize=None)
def releases(name: str) -> list[Version] | None:
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as answer:
            files = json.load(answer)["releases"]
    except (OSError, ValueError, KeyError):
        return None
    found = []
    for text, uploads in files.items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if uploads and not all(u.get("yanked") for u in uploads) and not version.is_prerelease:
            found.append(version)
    return sorted(found)


def upper_bounds(specs: list[SpecifierSet]) -> list[Version]:
    return sorted({Version(s.version) for spec in specs for s in spec if s.operator == "<"})


def audit(lock: Path, site: str, only: set[str] | None = None) -> dict:
    dataset, advisories = load_dataset()
    pins = [(n, v) for n, v in read_pins(lock) if only is None or canonicalize_name(n) in only]
    on = requirements_on(site)
    findings, named = [], []
    for name, version in pins:
        key = canonicalize_name(name)
        if key in advisories:
            named.append(name)
        for entry in advisories.get(key, []):
            try:
                specs = [SpecifierSet(s) for s in entry["specs"]]
            except InvalidSpecifier:  # six such specs in the dataset: say so rather than guess
                specs = None
            if specs is not None and not any(s.contains(version, prereleases=True) for s in specs):
                continue
            pinned_by = [(who, spec) for who, spec in on.get(key, []) if str(spec)]
            fixed = fixed_allowed = None
            if specs is not None:
                known = releases(name)
                candidates = [
                    c
                    for c in (known if known is not None else upper_bounds(specs))
                    if c > version and not any(s.contains(c, prereleases=True) for s in specs)
                ]
                fixed = next(iter(candidates), None)
                fixed_allowed = next((c for c in candidates if all(s.contains(c) for _, s in pinned_by)), None)
            findings.append(
                {
                    "name": name,
                    "version": str(version),
                    "id": entry["id"],
                    "cve": entry.get("cve"),
                    "specs": entry["specs"] if specs is not None else [f"unparseable: {entry['specs']}"],
                    "advisory": entry["advisory"],
                    "fixed": fixed and str(fixed),
                    "fixed_allowed": fixed_allowed and str(fixed_allowed),
                    "pinned_by": [f"{who}: {spec}" for who, spec in pinned_by],
                }
            )
    return {"dataset": dataset, "audited": len(pins), "with_advisories": named, "findings": findings}


if __name__ == "__main__":
    lock_path, site_packages, *names = sys.argv[1:]
    print(json.dumps(audit(Path(lock_path), site_packages, {canonicalize_name(n) for n in names} or None)))
