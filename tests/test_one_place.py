"""What is built in one place and used from several: the project's database engines
(bot.databases.engine_for: the handoff store, the insights, erasure and retention) and the Rasa
and action server command lines (bot.stack: one machine's stack and a cluster)."""

import threading

import sqlalchemy as sa

from bot.cluster import Cluster
from bot.databases import engine_for
from bot.settings import Settings
from bot.stack import Stack


def pragmas(engine) -> tuple:
    with engine.connect() as db:
        return (db.exec_driver_sql("PRAGMA journal_mode").scalar(), db.exec_driver_sql("PRAGMA foreign_keys").scalar())


def test_a_sqlite_file_gets_wal_foreign_keys_and_its_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'not' / 'yet' / 'there.db'}"
    kept, opened = engine_for(url), engine_for(url, keep_connections=False)
    assert (tmp_path / "not" / "yet").is_dir()
    assert pragmas(kept) == pragmas(opened) == ("wal", 1)
    assert isinstance(kept.pool, sa.pool.QueuePool) and kept.pool.size() == 4
    assert isinstance(opened.pool, sa.pool.NullPool)  # a connection per use, for a file Rasa keeps open


def test_a_kept_connection_serves_another_thread(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'shared.db'}")
    with engine.begin() as db:
        db.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    errors = []

    def write(value):
        try:
            with engine.begin() as db:
                db.exec_driver_sql("INSERT INTO t VALUES (?)", (value,))
        except Exception as exc:  # a connection made in another thread refused: check_same_thread
            errors.append(exc)

    for value in range(3):
        worker = threading.Thread(target=write, args=(value,))
        worker.start()
        worker.join()
    with engine.connect() as db:
        assert not errors and db.exec_driver_sql("SELECT count(*) FROM t").scalar() == 3


def test_memory_keeps_its_one_connection_and_other_databases_are_pinged():
    memory = engine_for("sqlite://")
    with memory.begin() as db:
        db.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with memory.connect() as db:  # the same database: it lives in the one connection
        assert db.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    postgres = engine_for("postgresql://user:pw@127.0.0.1:1/db")  # not connected to here
    assert postgres.pool._pre_ping


def test_every_rasa_and_action_server_starts_the_same_way():
    settings = Settings.from_env(env={}, rasa_token="t", relay_token="r")
    stack = Stack(settings)
    cluster = Cluster(settings, [settings.rasa_port], [settings.actions_port, settings.actions_port + 1])
    rasa, clustered = stack.part("rasa").command, cluster.part("rasa-1").command
    assert clustered[:2] == ["env", f"MUTUALS_ACTIONS_URL=http://{settings.host}:{settings.actions_port}/webhook"]
    assert clustered[2:] == rasa and rasa[1:4] == ["-m", "bot.rasa_server", "run"]
    assert "--auth-token=t" in rasa and rasa[rasa.index("--port") + 1] == str(settings.rasa_port)
    assert stack.part("actions").command[1:] == ["-m", "bot.action_server"]
    assert cluster.part("actions-2").command[1:] == [
        "-m",
        "bot.action_server",
        "--host",
        settings.host,
        "--port",
        str(settings.actions_port + 1),
    ]
