"""The code's own checks, run with the suite so a regression fails CI: ruff's pyflakes rules and
syntax errors over the whole tree, and mypy on the modules others rely on (both configured in
pyproject.toml: [tool.ruff], [tool.mypy]), and ESLint on our browser scripts (eslint.config.js).
`make check` runs them with the fast tests."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff() -> str:
    beside = Path(sys.executable).with_name("ruff")  # installed with the test extras into the venv
    return str(beside) if beside.exists() else shutil.which("ruff") or "ruff"


def test_ruff_finds_no_unused_undefined_or_shadowed_names():
    done = subprocess.run(
        [ruff(), "check", "--no-cache", "--output-format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_python_file_is_laid_out_by_ruff_format():
    done = subprocess.run(
        [ruff(), "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, "run `.venv/bin/ruff format .`:\n" + done.stdout + done.stderr


def test_ruff_format_would_catch_a_file_laid_out_by_hand(tmp_path):
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "by_hand.py").write_text("def answer( x ):\n    return [x,\n      x]\n", encoding="utf-8")
    done = subprocess.run(
        [ruff(), "format", "--check", "--no-cache", "."], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and "by_hand.py" in done.stdout, done.stdout + done.stderr


def test_ruff_would_catch_an_undefined_name(tmp_path):
    # the check itself works: the same rules on a file with a mistake fail
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "broken.py").write_text("def answer():\n    return pages\n", encoding="utf-8")
    done = subprocess.run(
        [ruff(), "check", "--no-cache", "--output-format", "concise", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "F821" in done.stdout, done.stdout + done.stderr


def test_mypy_finds_no_type_errors_in_settings_guidance_and_channels():
    beside = Path(sys.executable).with_name("mypy")
    done = subprocess.run(
        [str(beside) if beside.exists() else "mypy"],
        cwd=ROOT,  # [tool.mypy] in pyproject.toml
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and "Success" in done.stdout, done.stdout + done.stderr


def eslint(*arguments: str, stdin: str = "") -> subprocess.CompletedProcess:
    """ESLint (a dev dependency in package.json, installed by `mutuals setup`'s npm ci) with the
    flat config in eslint.config.js, run by the node on PATH."""
    node = shutil.which("node")
    assert node, "ESLint runs on Node.js, which `mutuals setup` needs too: install nodejs and npm"
    cli = ROOT / "node_modules" / "eslint" / "bin" / "eslint.js"
    assert cli.exists(), f"no {cli}: `mutuals setup` installs it (npm ci, package.json's devDependencies)"
    return subprocess.run(
        [node, str(cli), "--max-warnings", "0", *arguments],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_eslint_finds_nothing_in_the_widget_and_console_scripts():
    done = eslint("bot/web/static")  # our scripts; eslint.config.js leaves out the vendored ones
    assert done.returncode == 0, done.stdout + done.stderr


def test_eslint_would_catch_an_undefined_name_or_syntax_newer_than_es5():
    # the check itself works: the same config on a script with a mistake, as if it were the widget's
    for script, rule in [
        ('(function () {\n  "use strict";\n  return pages;\n})();\n', "no-undef"),
        ('(function () {\n  "use strict";\n  let pages = [];\n  return pages;\n})();\n', "Parsing error"),
    ]:
        done = eslint("--stdin", "--stdin-filename", "bot/web/static/widget/broken.js", stdin=script)
        assert done.returncode == 1 and rule in done.stdout, done.stdout + done.stderr


def lint_imports() -> str:
    beside = Path(sys.executable).with_name("lint-imports")  # import-linter, installed with the test extras
    return str(beside) if beside.exists() else shutil.which("lint-imports") or "lint-imports"


def test_the_import_rules_hold():
    # the contracts in pyproject.toml [tool.importlinter], explained in docs/architecture.md
    done = subprocess.run(
        [lint_imports(), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, COLUMNS="200"),
    )  # a contract's name on one line
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_import_rules_would_catch_the_circle_or_rasa_coming_back(tmp_path):
    # the same contracts on a copy of the code with the console importing the web app again and the
    # channels' checks importing Rasa: both contracts break, and say where
    for folder in ("bot", "actions"):
        for source in (ROOT / folder).rglob("*.py"):
            target = tmp_path / source.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    with (tmp_path / "bot" / "console" / "_routes.py").open("a", encoding="utf-8") as routes:
        routes.write("\nfrom bot.web.app import create_app  # noqa: E402\n")
    with (tmp_path / "bot" / "channels" / "_checks.py").open("a", encoding="utf-8") as checks:
        checks.write("\nimport rasa  # noqa: E402\n")
    done = subprocess.run(
        [lint_imports(), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, COLUMNS="200"),
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "the console never imports the app BROKEN" in out, out
    assert "bot.console._routes -> bot.web.app" in out, out
    assert "need no Rasa BROKEN" in out and "bot.channels._checks -> rasa" in out, out


def loaded_by(statement: str) -> set:
    """The top-level packages a fresh interpreter has loaded after running ``statement``."""
    report = "import sys\nprint(sorted({m.split('.')[0] for m in sys.modules}))"
    done = subprocess.run(
        [sys.executable, "-c", f"{statement}\n{report}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(eval(done.stdout.strip().splitlines()[-1]))


def test_the_channels_rasa_free_parts_load_no_rasa():
    # what importing them really loads (import-linter reads the source, this runs it)
    loaded = loaded_by(
        "import bot.channels\nfrom bot.channels import _checks, _erasure, _handoff, _limits, _message_ids"
    )
    assert not loaded & {"rasa", "tensorflow", "sanic", "socketio"}, sorted(loaded)


def test_the_web_server_and_the_console_load_no_rasa_or_tensorflow():
    # import-linter stops at the first outside package; this also sees what those load in turn
    loaded = loaded_by("import bot.web.app\nimport bot.console")
    assert {"aiohttp", "jinja2"} <= loaded and not loaded & {"rasa", "tensorflow", "torch", "sanic"}, sorted(loaded)


def test_rasa_still_finds_the_channels_credentials_yml_names():
    # bot.channels loads its channel classes on first use; Rasa looks them up with its own function
    loaded = loaded_by(
        "from rasa.shared.utils.common import class_from_module_path as find\n"
        "names = {'CheckedRestInput': 'rest', 'RelayInput': 'relay', 'WidgetInput': 'socketio'}\n"
        "for cls, name in names.items():\n"
        "    assert find('bot.channels.' + cls).name() == name, cls"
    )
    assert {"rasa", "sanic", "socketio"} <= loaded
