"""bot/settings.py holds every setting: each is read from its MUTUALS_ variable, a value that cannot
be used stops with a SettingsError naming the variable, and no other module reads a MUTUALS_
variable itself (it would escape both the checks and ``Settings.as_env``, which is how the stack
hands the settings to its child processes)."""

import re
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]

# (field, what the environment says, what the field holds, a value it refuses, what the refusal says)
FIELDS = [
    ("action_timeout_seconds", "2.5", 2.5, "soon", "MUTUALS_ACTION_TIMEOUT_SECONDS='soon' is not a valid float"),
    ("db_wait_seconds", "30", 30.0, "ten", "MUTUALS_DB_WAIT_SECONDS='ten' is not a valid float"),
    ("embedding_model", "Base", "base", "large", "MUTUALS_EMBEDDING_MODEL must be tuned or base, not 'large'"),
    ("embedder", "ONNX", "onnx", "gpu", "MUTUALS_EMBEDDER must be auto, onnx or torch, not 'gpu'"),
    ("knowledge_read_only", "yes", True, "maybe", "MUTUALS_KNOWLEDGE_READ_ONLY='maybe' is not a valid bool"),
    (
        "log_level",
        "debug",
        "DEBUG",
        "loud",
        "MUTUALS_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not 'loud'",
    ),
    ("onnx_dir", "/srv/onnx", "/srv/onnx", None, None),  # any path
    ("relay_token", "s3cret", "s3cret", None, None),  # any text
]


@pytest.mark.parametrize("name, raw, value, bad, message", FIELDS, ids=[f[0] for f in FIELDS])
def test_each_setting_is_read_from_its_variable_and_a_bad_value_is_named(name, raw, value, bad, message):
    key = f"MUTUALS_{name.upper()}"
    default = getattr(Settings(), name)
    assert getattr(Settings.from_env(env={}), name) == default
    assert getattr(Settings.from_env(env={key: ""}), name) == default  # empty: the default
    assert getattr(Settings.from_env(env={key: raw}), name) == value != default
    # what the stack gives a child process reads back as the same value
    assert getattr(Settings.from_env(env=Settings.from_env(env={key: raw}).as_env()), name) == value
    if bad is not None:
        with pytest.raises(SettingsError) as refused:
            Settings.from_env(env={key: bad})
        assert message in str(refused.value)


def test_the_defaults_are_the_ones_the_code_used_before():
    s = Settings()
    assert (
        s.action_timeout_seconds,
        s.db_wait_seconds,
        s.embedder,
        s.onnx_dir,
        s.knowledge_read_only,
        s.log_level,
        s.relay_token,
    ) == (5.0, 10.0, "auto", "", False, "INFO", "")


@pytest.mark.parametrize(
    "raw, value", [("1", True), ("true", True), ("On", True), ("0", False), ("false", False), ("no", False)]
)
def test_a_yes_or_no_setting_takes_the_usual_words(raw, value):
    assert Settings.from_env(env={"MUTUALS_KNOWLEDGE_READ_ONLY": raw}).knowledge_read_only is value


# reading a variable: os.environ["X"], os.environ.get("X"), environ.pop("X"), os.getenv("X"), "X" in os.environ
READS = re.compile(
    r"""(?:environ(?:\.get|\.pop|\.setdefault)?\s*[\[(]|getenv\s*\()\s*f?['"](MUTUALS_\w*)"""
    r"""|['"](MUTUALS_\w+)['"]\s+(?:not\s+)?in\s+(?:os\.)?environ\b"""
)


def reads_of_our_variables(root: Path):
    """``(path:line, variable)`` for every MUTUALS_ variable read from the environment outside bot/settings.py."""
    found = []
    for path in sorted([*root.glob("bot/**/*.py"), *root.glob("actions/**/*.py")]):
        if path.relative_to(root).as_posix() == "bot/settings.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in READS.finditer(line):
                found.append((f"{path.relative_to(root)}:{number}", match.group(1) or match.group(2)))
    return found


def test_no_module_but_settings_reads_a_mutuals_variable():
    found = reads_of_our_variables(ROOT)
    assert not found, "read these through bot.settings.Settings instead: " + ", ".join(
        f"{where} reads {name}" for where, name in found
    )


def test_the_search_for_reads_finds_each_way_of_reading(tmp_path):
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "settings.py").write_text('os.environ.get("MUTUALS_FINE")\n')  # the one place allowed
    (tmp_path / "bot" / "reader.py").write_text(
        'import os\n'
        'a = os.environ.get("MUTUALS_A", "")\n'
        "b = os.environ['MUTUALS_B']\n"
        'c = os.getenv("MUTUALS_C")\n'
        'd = "MUTUALS_D" in os.environ\n'
        'os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a third party\'s: allowed\n'
        'env = {"MUTUALS_E": "1"}  # handing one to a child: allowed\n'
    )
    assert reads_of_our_variables(tmp_path) == [
        ("bot/reader.py:2", "MUTUALS_A"),
        ("bot/reader.py:3", "MUTUALS_B"),
        ("bot/reader.py:4", "MUTUALS_C"),
        ("bot/reader.py:5", "MUTUALS_D"),
    ]
