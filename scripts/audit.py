"""Dependency audit of requirements.lock (``make audit``): every known vulnerability in the pinned
environment, how many pinned packages were actually audited and by what, and exit 1 on any finding
not triaged in docs/security.md. It needs PyPI; it is not part of the test suite.

pip-audit cannot be installed into .venv (every version needs packaging>=21 and CacheControl>=0.13;
Rasa 3.6 pins packaging<21 and CacheControl<0.13), so this installs requirements-audit.lock (with
hashes) into a venv of its own under var/tools/ and audits the lock file without installing it.
pip-audit comes first; it reads PyPI's per-release JSON API. Every pin it could not audit (all of
them where that API is not served) is checked instead against safety-db's advisories, a dataset
that stops in July 2021 (scripts/audit_advisories.py, run with the tools' venv).

Exit status: 0 no untriaged finding; 1 an untriaged finding; 2 the tools could not be installed or
nothing could be audited.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import venv
from pathlib import Path
from typing import List, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
LOCK, TOOL_LOCK, TRIAGE = ROOT / "requirements.lock", ROOT / "requirements-audit.lock", ROOT / "docs" / "security.md"
FALLBACK = Path(__file__).with_name("audit_advisories.py")
Finding = Tuple[str, str, str, List[str]]  # name, version, advisory id, aliases


class CannotAudit(RuntimeError):
    pass


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> List[str]:
    return [line.split("==")[0] for line in LOCK.read_text().splitlines() if "==" in line and not line.startswith("#")]


def audit_tools(var_dir: Path) -> Path:
    """The venv holding pip-audit and safety-db, installed from requirements-audit.lock once per version of it."""
    digest = hashlib.sha256(TOOL_LOCK.read_bytes()).hexdigest()[:12]
    home = var_dir / "tools" / f"pip-audit-{digest}"
    if (home / "installed").exists():
        return home
    print(f"Installing the audit tools from {TOOL_LOCK.name} into {home} …", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    done = subprocess.run(
        [
            str(home / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(TOOL_LOCK),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise CannotAudit(f"could not install the audit tools from PyPI into {home}: {done.stderr.strip()[-500:]}")
    (home / "installed").write_text(TOOL_LOCK.name + "\n")
    return home


def pip_audit(home: Path, out: Path) -> Tuple[List[Finding], Set[str]]:
    """pip-audit's findings, and the names it did audit."""
    done = subprocess.run(
        [
            str(home / "bin" / "pip-audit"),
            "-r",
            str(LOCK),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "-f",
            "json",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if not out.exists():
        print(f"pip-audit did not finish (exit {done.returncode}): {done.stderr.strip()[-800:]}")
        return [], set()
    deps = json.loads(out.read_text())["dependencies"]
    audited = [d for d in deps if not d.get("skip_reason")]
    found = [(d["name"], d["version"], v["id"], v.get("aliases") or []) for d in audited for v in d.get("vulns", [])]
    print(f"pip-audit: {len(deps)} pinned packages, {len(audited)} audited, {len(found)} known vulnerabilities")
    for d in audited:
        for v in d.get("vulns", []):
            fixes = ", ".join(v.get("fix_versions") or []) or "no fixed release"
            print(f"  {d['name']} {d['version']}: {v['id']} {' '.join(v.get('aliases') or [])} (fixed in {fixes})")
    if deps and not audited:
        print(
            f"  pip-audit could not reach its data: 'not found' for all {len(deps)} pins (PyPI's per-release "
            "JSON API, https://pypi.org/pypi/<name>/<version>/json, is not served here)"
        )
    elif len(audited) < len(deps):
        print("  not audited by pip-audit: " + ", ".join(d["name"] for d in deps if d.get("skip_reason")))
    return found, {canonical(d["name"]) for d in audited}


def safety_db(home: Path, audited: Set[str]) -> Tuple[List[Finding], int]:
    """The fallback over every pin pip-audit did not audit: safety-db's advisories (July 2021), and how
    many pins it checked."""
    todo = [name for name in pins() if canonical(name) not in audited]
    if not todo:
        return [], 0
    done = subprocess.run(
        [str(home / "bin" / "python"), str(FALLBACK), str(LOCK), sysconfig.get_paths()["purelib"], *todo],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise CannotAudit(f"the safety-db fallback failed: {done.stderr.strip()[-1500:]}")
    report = json.loads(done.stdout)
    data, findings = report["dataset"], report["findings"]
    print("!" * 100)
    print(
        f"!! FALLBACK DATA: safety-db {data['version']}, PyUp's advisories as of {data['date']} (July 2021).\n"
        "!! Advisories published after that date are NOT covered: no finding here does not mean no known\n"
        "!! vulnerability. Run where pip-audit's data (PyPI's per-release JSON API) is reachable."
    )
    print("!" * 100)
    print(
        f"safety-db: {report['audited']} pinned packages checked; the dataset has advisories for "
        f"{len(report['with_advisories'])} of them ({', '.join(report['with_advisories'])}); "
        f"{len(findings)} advisories match a pinned version"
    )
    for f in findings:
        fix = f"fixed in {f['fixed']}" if f["fixed"] else "no fixed release known"
        allowed = (
            f"first fixed release the pins allow: {f['fixed_allowed']}"
            if f["fixed_allowed"]
            else "no fixed release the pins allow"
        )
        print(
            f"  {f['name']} {f['version']}: {f['id']} {f['cve'] or ''} (affected: {' | '.join(f['specs'])}); "
            f"{fix}; {allowed} [{'; '.join(f['pinned_by']) or 'no requirement on it'}]\n"
            f"      {f['advisory'][:300]}"
        )
    found = [(f["name"], f["version"], f["id"], re.findall(r"CVE-\d+-\d+", f["cve"] or "")) for f in findings]
    return found, int(report["audited"])


def untriaged(found: List[Finding]) -> List[str]:
    triaged = set(re.findall(r"[A-Z]+-[0-9A-Za-z-]+|pyup\.io-[0-9]+", TRIAGE.read_text()))
    return [
        f"{name} {version}: {vid}"
        for name, version, vid, aliases in found
        if vid not in triaged and not triaged & set(aliases)
    ]


def main() -> int:
    total = len(pins())
    try:
        home = audit_tools(ROOT / "var")
        with tempfile.TemporaryDirectory() as tmp:
            found, by_pip_audit = pip_audit(home, Path(tmp) / "audit.json")
        fallback, by_safety_db = safety_db(home, by_pip_audit)
    except CannotAudit as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    found += fallback
    audited = len(by_pip_audit) + by_safety_db
    print(
        f"\nAudited {audited} of {total} pinned packages: {len(by_pip_audit)} by pip-audit (current advisories), "
        f"{by_safety_db} by safety-db only (advisories up to July 2021)."
    )
    if not audited:
        print("audit: nothing could be audited", file=sys.stderr)
        return 2
    missing = untriaged(found)
    print(f"{len(found)} known vulnerabilities; {len(missing)} not triaged in {TRIAGE.relative_to(ROOT)}.")
    for line in missing:
        print(f"  untriaged: {line}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
