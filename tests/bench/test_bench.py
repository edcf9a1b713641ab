"""``mutuals bench`` on a tiny run: it measures a running stack, writes JSON with the expected keys
and a plot. The figures themselves are not asserted (they depend on the machine)."""

from __future__ import annotations

import json
import os

import pytest

from bot.bench._load import kind_of_reply, percentiles
from bot.bench._run import median_of
from bot.bench._stack import memory, pid_listening_on, process_tree
from bot.cli import main, parser


def test_percentiles_and_medians():
    p = percentiles(list(range(1, 101)))
    assert p["n"] == 100 and p["p50"] == 50.5 and p["p95"] == 95.05 and p["max"] == 100
    assert percentiles([])["p50"] is None
    runs = [
        {"latency_ms": {"p50": 1.0, "p95": 4.0}, "errors": 0, "note": "a"},
        {"latency_ms": {"p50": 3.0, "p95": 2.0}, "errors": 2, "note": "b"},
        {"latency_ms": {"p50": 2.0, "p95": 9.0}, "errors": 1, "note": "c"},
    ]
    assert median_of(runs) == {"latency_ms": {"p50": 2.0, "p95": 4.0}, "errors": 1, "note": "a"}


def test_kind_of_reply():
    assert kind_of_reply([{"text": "Register with the FCA.\n\nSource: [Co-ops](http://x/guidance/co-op)"}]) == "answer"
    assert kind_of_reply([{"text": "I'm not sure I have guidance that answers that", "buttons": []}]) == "abstain"
    from bot.guidance._outside import OutsideTopic, signpost_text

    signpost = signpost_text(OutsideTopic("state-pension", "GOV.UK", "https://www.gov.uk/state-pension", ("x",)))
    assert kind_of_reply([{"text": signpost}]) == "abstain"  # the signpost the assistant really sends
    assert kind_of_reply([{"text": "Hello!"}]) == "plain"
    assert kind_of_reply([]) == "plain"


def test_memory_of_this_process_from_proc():
    figures = memory(os.getpid())
    assert figures["peak_rss_mb"] >= figures["rss_mb"] > 0
    assert os.getpid() in process_tree(os.getpid())


def test_the_command_is_listed():
    args = parser().parse_args(["bench", "--quick", "--out", "x"])
    assert args.quick and args.out == "x" and callable(args.func)


@pytest.mark.slow
def test_quick_bench_against_a_running_stack(running_stack, tmp_path, capsys):
    url = running_stack.settings.rasa_url
    assert pid_listening_on(running_stack.settings.rasa_port) in process_tree(running_stack.part("rasa").process.pid)
    out = tmp_path / "bench"
    assert (
        main(
            [
                "bench",
                "--quick",
                "--rasa-url",
                url,
                "--out",
                str(out),
                "--actions-port",
                str(running_stack.settings.actions_port),
                "--only",
                "turns,throughput,socketio,resources",
            ]
        )
        == 0
    )
    results = json.loads((out / "bench.json").read_text())
    assert {"machine", "git", "turns", "throughput", "socketio", "resources", "targets", "messages"} <= set(results)
    assert results["machine"]["cores"] >= 1 and results["machine"]["memory_mb"] > 0
    assert results["git"]["commit"] is None or len(results["git"]["commit"]) == 40
    assert set(results["turns"]) == {"1", "10", "50"}
    for concurrency in results["turns"].values():
        assert set(concurrency) == {"plain", "answer", "abstain"}
        for kind, figures in concurrency.items():
            assert {"p50", "p95", "p99"} <= set(figures["latency_ms"])
            assert figures["errors_total"] == 0
            assert figures["replies"] == {kind: figures["messages"]}, figures["replies"]
    assert results["guidance_to_plain_p50"] > 0
    assert results["throughput"]["levels"] and "sustained_per_second" in results["throughput"]
    assert results["socketio"]["connections"] == 10 and "dropped_total" in results["socketio"]
    assert results["resources"]["rasa"]["peak_rss_mb"] > 0
    assert results["resources"]["actions"]["peak_rss_mb"] > 0
    assert any(t["target"].startswith("guidance answer") for t in results["targets"])
    assert (out / "bench.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "REST turn latency" in printed and f"Wrote {out / 'bench.json'}, {out / 'bench.png'}, " in printed


def test_the_bench_records_this_machine():
    from bot.bench._run import machine

    cpuinfo = open("/proc/cpuinfo").read()
    total_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    m = machine()
    assert m["cores"] == os.cpu_count() and 1 <= m["cores_usable"] <= m["cores"]
    assert m["cpu"] and f"model name\t: {m['cpu']}" in cpuinfo
    assert abs(m["memory_mb"] - total_kb / 1024) < 1


@pytest.mark.slow
def test_quick_bench_of_retrieval_alone(tmp_path, monkeypatch, capsys):
    import bot.bench._run as bench_run

    def no_matplotlib(results, path):
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(bench_run, "plot", no_matplotlib)  # a plot that fails is not claimed
    out = tmp_path / "bench"
    assert main(["bench", "--quick", "--only", "retrieval,scale", "--scale", "500", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert not (out / "bench.png").exists() and "bench.png" in printed
    assert f"Wrote {out / 'bench.json'}, {out / 'bench.txt'}; no bench.png (ImportError: " in printed
    results = json.loads((out / "bench.json").read_text())
    assert "conditions" not in results and results["machine"]["cpu"]
    real = results["retrieval"]["real"]
    assert real["passages"] > 100 and real["embed_and_search_ms"]["p50"] > 0
    assert real["index_build_seconds"] > 0
    (synthetic,) = results["retrieval"]["scale"]
    assert synthetic["passages"] == 500
    assert synthetic["embed_and_search_ms"]["project_bm25"]["p50"] > 0 and synthetic["bm25_ms"]["project"]["p50"] > 0
    assert "stack" not in results or not results["stack"]["started_by_bench"]
