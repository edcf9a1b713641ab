"""The deployment files (deploy/) parse, name only settings that exist, and set what several
Rasa servers must share; the lock store URL and the cluster's checks. Docker and Kubernetes do
not run here, so this is what can be checked without them."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.cluster import Cluster, nginx_config
from bot.locks import lock_store_for
from bot.settings import ROOT, Settings
from bot.stack import Stack, StackError

DEPLOY = ROOT / "deploy"
# what every part of a scaled-out deployment must be told, and the same everywhere
SHARED = {
    "MUTUALS_TRACKER_STORE_URL",
    "MUTUALS_HANDOFF_STORE_URL",
    "MUTUALS_LOCK_STORE_URL",
    "MUTUALS_SOCKETIO_QUEUE_URL",
    "MUTUALS_RASA_TOKEN",
    "MUTUALS_RELAY_TOKEN",
    "MUTUALS_RASA_SERVER_URL",
    "MUTUALS_ACTION_SERVER_URL",
    "MUTUALS_PUBLIC_URL",
}


def setting_names() -> set:
    """The environment variables Settings.from_env reads."""
    return {
        f.name.upper() if f.name.startswith("telegram_") else f"MUTUALS_{f.name.upper()}"
        for f in dataclasses.fields(Settings)
    }


def read_elsewhere(name: str) -> bool:
    """An environment variable that is not a setting but that the code reads by name."""
    return any(name in path.read_text() for path in (ROOT / "bot").rglob("*.py"))


def assert_known(names, where: str) -> None:
    unknown = sorted(n for n in names if n not in setting_names() and not read_elsewhere(n))
    assert not unknown, f"{where} sets {unknown}, which nothing in bot/ reads (a typo?)"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def k8s_documents() -> list:
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    docs = []
    for resource in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((DEPLOY / "k8s" / resource).read_text()) if d]
    return docs


def test_compose_file_parses_and_names_real_settings():
    spec = compose()
    services = spec["services"]
    assert {"postgres", "redis", "nginx", "rasa", "actions", "web", "telegram", "retention"} <= set(services)
    parts = {p.name for p in Stack(Settings.from_env(env={}, rasa_token="t", relay_token="t"), telegram=True).parts}
    for name in ("rasa", "actions", "web", "telegram"):
        service = services[name]
        assert service["command"][0] in parts, name  # python -m bot.cluster --part <command>
        assert_known(service["environment"], f"compose service {name}")
        assert SHARED <= set(service["environment"]), (name, SHARED - set(service["environment"]))
    assert services["retention"]["entrypoint"] == ["mutuals", "retention"]
    assert services["rasa"]["deploy"]["replicas"] and services["actions"]["deploy"]["replicas"]
    assert services["nginx"]["ports"] == ["${MUTUALS_HTTP_PORT:-80}:80"]  # the one public port
    assert all("ports" not in s for n, s in services.items() if n != "nginx")


def test_kubernetes_manifests_parse_and_name_real_settings():
    docs = k8s_documents()
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for name in ("rasa", "actions", "web", "telegram"):
        assert ("Deployment", name) in kinds
    for name in ("rasa", "actions", "web", "redis"):
        assert ("Service", name) in kinds
    assert ("CronJob", "retention") in kinds
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    secret = next(d for d in docs if d["kind"] == "Secret")
    names = set(config["data"]) | set(secret["stringData"])
    assert_known(names, "deploy/k8s")
    assert SHARED <= names, SHARED - names
    assert all(isinstance(v, str) for v in config["data"].values())  # ConfigMap values must be strings

    for d in docs:
        if d["kind"] in ("Deployment", "CronJob"):
            pod = (
                d["spec"]["template"]["spec"]
                if d["kind"] == "Deployment"
                else d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            )
            for container in pod["containers"]:
                if container["image"].startswith("mutuals-assistant"):
                    refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
                    assert refs == {config["metadata"]["name"], secret["metadata"]["name"]}, d["metadata"]["name"]
    cron = next(d for d in docs if d["kind"] == "CronJob")
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "mutuals",
        "retention",
    ]
    ingress = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Ingress"}
    sticky = [
        i
        for i in ingress.values()
        if any(p["path"] == "/socket.io/" for r in i["spec"]["rules"] for p in r["http"]["paths"])
    ]
    assert len(sticky) == 1 and "nginx.ingress.kubernetes.io/upstream-hash-by" in sticky[0]["metadata"]["annotations"]
    telegram = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "telegram")
    assert telegram["spec"]["replicas"] == 1 and telegram["spec"]["strategy"]["type"] == "Recreate"


def test_dockerfile_runs_the_set_up_and_one_part_per_container():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "bash scripts/setup.sh" in text  # what `make run` runs before it runs
    assert 'ENTRYPOINT ["python", "-m", "bot.cluster", "--part"]' in text
    assert "python:3.10" in text  # Rasa 3.6 runs on 3.8-3.10
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "var", "models", "node_modules"} <= set(ignored)


def nginx_ok(config: str, tmp_path: Path) -> None:
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed")
    conf = tmp_path / "nginx.conf"
    conf.write_text(config)
    run = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr


def test_the_deployment_nginx_config_is_valid(tmp_path):
    text = (DEPLOY / "nginx.conf").read_text()
    for host in ("rasa", "actions", "web"):
        text = re.sub(rf"\bserver {host}:", "server 127.0.0.1:", text)  # compose's names do not resolve here
    text = text.replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    text = text.replace("error_log /dev/stderr warn;", f"error_log {tmp_path}/error.log warn;")
    text = text.replace(
        "http {",
        "http {\n"
        + "".join(f"  {k}_temp_path {tmp_path}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
        1,
    )
    assert "ip_hash;" in text and "$connection_upgrade" in text
    nginx_ok(text, tmp_path)


def test_the_clusters_nginx_config_is_valid(tmp_path):
    config = nginx_config(
        tmp_path,
        "127.0.0.1:8000",
        ["127.0.0.1:5005", "127.0.0.1:5006"],
        web="127.0.0.1:8080",
        internal_listen="127.0.0.1:8001",
        actions=["127.0.0.1:5055"],
        actions_listen="127.0.0.1:8002",
        user="root" if os.geteuid() == 0 else None,
    )
    assert "ip_hash;" in config.split("upstream rasa_sticky")[1].split("}")[0]
    nginx_ok(config, tmp_path)


def test_lock_store_by_url():
    from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

    assert isinstance(lock_store_for(""), InMemoryLockStore)
    assert isinstance(lock_store_for(None), InMemoryLockStore)
    store = lock_store_for("rediss://user:p%40ss@cache.example:6380/3")
    assert isinstance(store, RedisLockStore)
    kwargs = store.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"], kwargs["username"]) == (
        "cache.example",
        6380,
        3,
        "p@ss",
        "user",
    )
    assert store.key_prefix == "mutuals:lock:"
    with pytest.raises(ValueError):
        lock_store_for("memcached://x")


def test_lock_store_is_shared_through_redis():
    from tests.support.servers import redis_server

    with redis_server() as url:
        one, two = lock_store_for(f"{url}/0"), lock_store_for(f"{url}/0")  # two Rasa servers
        ticket = one.issue_ticket("conversation-1")
        assert two.get_lock("conversation-1").is_locked(ticket + 1)  # the other sees it taken
        one.cleanup("conversation-1", ticket)
        assert two.get_lock("conversation-1") is None


def test_several_rasa_servers_need_shared_stores(tmp_path):
    base = dict(var_dir=tmp_path, rasa_token="t", relay_token="t")
    with pytest.raises(StackError, match="MUTUALS_LOCK_STORE_URL and MUTUALS_SOCKETIO_QUEUE_URL"):
        Cluster(Settings.from_env(env={}, **base), [1, 2], [3])
    with pytest.raises(StackError, match="PostgreSQL"):
        Cluster(
            Settings.from_env(env={}, lock_store_url="redis://r", socketio_queue_url="redis://r", **base), [1, 2], [3]
        )
    one = Cluster(Settings.from_env(env={}, **base), [5005], [5055, 5056])  # one Rasa server: as ever
    assert [p.name for p in one.parts] == ["actions-1", "actions-2", "rasa-1", "web"]


def test_settings_reach_parts_through_a_balancer():
    s = Settings.from_env(
        env={"MUTUALS_RASA_SERVER_URL": "http://nginx:5005/", "MUTUALS_ACTION_SERVER_URL": "http://nginx:5055"}
    )
    assert s.rasa_url == "http://nginx:5005" and s.actions_url == "http://nginx:5055/webhook"
    assert s.widget_server_url == "http://nginx:5005"
    assert (
        Settings.from_env(env={"MUTUALS_PUBLIC_RASA_URL": "https://a.example"}).widget_server_url == "https://a.example"
    )
    plain = Settings.from_env(env={})
    assert plain.rasa_url == "http://127.0.0.1:5005" and plain.actions_url == "http://127.0.0.1:5055/webhook"
