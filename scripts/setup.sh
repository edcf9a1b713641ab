#!/usr/bin/env bash
# Sets up Mutuals Assistant on this machine: a Python 3.10 venv at .venv/ with the pinned
# dependencies, then `mutuals setup` (trained model, retrieval index, web assets).
# Safe to run again: each step is skipped when its inputs have not changed.
#   scripts/setup.sh          what running the assistant needs
#   scripts/setup.sh --test   that, plus what the test suite needs (its Python extra and system packages)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1
export RASA_TELEMETRY_ENABLED=false PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

find_python310() {
  local candidate
  for candidate in "${MUTUALS_PYTHON:-}" python3.10; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in "$(pyenv root)"/versions/3.10*/bin/python3.10; do
      [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$candidate"; return 0; }
    done
  fi
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  if ! python310=$(find_python310); then
    echo "Mutuals Assistant needs Python 3.10 (Rasa 3.6 runs on 3.8-3.10 only) and found none: install Python 3.10 (for example 'pyenv install 3.10') or set MUTUALS_PYTHON to its path, then run this again." >&2
    exit 1
  fi
  step "Creating .venv with $python310"
  rm -rf .venv
  "$python310" -m venv .venv
fi

extras=""; [ "$want_test" = 1 ] && extras="[test]"
inputs=$(cat pyproject.toml requirements.lock; echo "$extras")
stamp=".venv/.mutuals-installed"
digest=$(printf '%s' "$inputs" | sha256sum | cut -d' ' -f1)
installed=$(cat "$stamp" 2>/dev/null || true)
# a test install also serves a plain run, not the other way round
if [ "$installed" != "$digest" ] && ! { [ "$want_test" = 0 ] && [ "$installed" = "$(printf '%s' "$(cat pyproject.toml requirements.lock; echo '[test]')" | sha256sum | cut -d' ' -f1)" ]; }; then
  step "Installing Python dependencies into .venv (the first time takes about 5 minutes and 7.5 GB)"
  .venv/bin/python -m pip install --progress-bar on --upgrade "pip>=24" >/dev/null
  # (this machine's pip configuration names local indexes that may not exist: hide those warnings)
  .venv/bin/python -m pip install --progress-bar on -c requirements.lock -e ".$extras" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  .venv/bin/python -m pip check
  echo "$digest" > "$stamp"
else
  step "Python dependencies are up to date"
fi

[ "$want_test" = 1 ] && bash scripts/test-system-packages.sh
.venv/bin/mutuals setup
