"""What ``mutuals bench`` does, in order; see :mod:`bot.bench`."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlparse

from bot.settings import ROOT, Settings

PARTS = ("turns", "throughput", "socketio", "retrieval", "scale", "resources")
KINDS = ("plain", "answer", "abstain")


def say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class Plan:
    repeats: int
    warmup: int
    turns: Dict[int, int]  # concurrency -> messages of each kind per run
    levels: List[int]  # throughput: concurrency levels
    level_seconds: float
    widgets: int
    retrieval_queries: int
    scale_sizes: List[int]
    scale_queries: int
    torch_reference: bool

    @classmethod
    def of(cls, args) -> "Plan":
        sizes = [int(x) for x in str(args.scale).split(",") if x.strip()]
        if args.quick:
            return cls(
                repeats=args.repeats or 1,
                warmup=2,
                turns={1: 5, 10: 10, 50: 50},
                levels=[1, 4],
                level_seconds=1.5,
                widgets=10,
                retrieval_queries=20,
                scale_sizes=[min(sizes + [2000])],
                scale_queries=5,
                torch_reference=False,
            )
        return cls(
            repeats=args.repeats or 3,
            warmup=10,
            turns={1: 60, 10: 100, 50: 200},
            levels=[1, 2, 4, 8, 16, 32, 64],
            level_seconds=8.0,
            widgets=100,
            retrieval_queries=200,
            scale_sizes=sizes,
            scale_queries=40,
            torch_reference=args.embedder != "torch",
        )


def median_of(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The median of each number across runs (for nested dicts of percentiles)."""
    out: Dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [r.get(key) for r in runs]
        if isinstance(first, dict):
            out[key] = median_of(values)
        elif isinstance(first, (int, float)) and not isinstance(first, bool) and None not in values:
            out[key] = round(statistics.median(values), 2)
        else:
            out[key] = first
    return out


def machine() -> Dict[str, Any]:
    mem = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, value = line.split(":", 1)
        if name in ("MemTotal", "MemAvailable"):
            mem[name] = round(int(value.split()[0]) / 1024)
    versions = {}
    from importlib import metadata

    for name in (
        "rasa",
        "rasa-sdk",
        "onnxruntime",
        "torch",
        "sentence-transformers",
        "sanic",
        "aiohttp",
        "python-socketio",
        "numpy",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (
                l.split(":", 1)[1].strip()
                for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")
            ),
            "",
        )
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "cpu": cpu,
        "memory_mb": mem.get("MemTotal"),
        "memory_available_mb_at_start": mem.get("MemAvailable"),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def git() -> Dict[str, Any]:
    def run(*args):
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else None

    status = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": run("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


# ---- the parts -----------------------------------------------------------------------


def measure_turns(url: str, messages: Dict[str, str], plan: Plan) -> Dict[str, Any]:
    from ._load import TURNS_PER_CONVERSATION, load

    out: Dict[str, Any] = {}
    for concurrency, total in plan.turns.items():
        out[str(concurrency)] = {}
        for kind in KINDS:
            # the same question again in one conversation is a different turn once the assistant has
            # declined it (it offers an adviser), so each abstention starts a conversation of its own
            per_conversation = 1 if kind == "abstain" else TURNS_PER_CONVERSATION
            runs = [
                load(
                    url,
                    [messages[kind]],
                    total,
                    concurrency,
                    tag=f"{kind}{concurrency}",
                    turns_per_conversation=per_conversation,
                )
                for _ in range(plan.repeats)
            ]
            summary = median_of([{k: r[k] for k in ("latency_ms", "per_second", "errors", "messages")} for r in runs])
            summary["replies"] = runs[-1]["replies"]
            summary["turns_per_conversation"] = per_conversation
            summary["errors_total"] = sum(r["errors"] for r in runs)
            summary["error_examples"] = [e for r in runs for e in r["error_examples"]][:3]
            summary["runs"] = [r["latency_ms"] for r in runs]
            summary["samples_ms"] = [x for r in runs for x in r["samples_ms"]]
            out[str(concurrency)][kind] = summary
            lat = summary["latency_ms"]
            say(
                f"{kind:<8} x{concurrency:<3} p50 {lat['p50']} ms  p95 {lat['p95']} ms  p99 {lat['p99']} ms"
                f"  ({summary['errors_total']} errors)"
            )
    return out


def measure_throughput(url: str, messages: Dict[str, str], plan: Plan) -> Dict[str, Any]:
    from ._load import load

    mix = [messages[k] for k in KINDS]
    levels = []
    for concurrency in plan.levels:
        # one conversation per round of the three turns: a second decline in one conversation starts
        # the adviser offer, a different turn
        runs = [
            load(
                url,
                mix,
                10**9,
                concurrency,
                duration=plan.level_seconds,
                tag=f"tp{concurrency}",
                turns_per_conversation=len(mix),
            )
            for _ in range(plan.repeats)
        ]
        level = median_of([{k: r[k] for k in ("per_second", "latency_ms", "errors", "messages")} for r in runs])
        level["concurrency"] = concurrency
        levels.append(level)
        say(f"throughput x{concurrency:<3} {level['per_second']} msg/s  p95 {level['latency_ms']['p95']} ms")
    ok = [l for l in levels if l["latency_ms"]["p95"] is not None and l["latency_ms"]["p95"] < 1000 and not l["errors"]]
    best = max(levels, key=lambda l: l["per_second"])
    saturates = next(l for l in levels if l["per_second"] >= 0.95 * best["per_second"])
    sustained = max(ok, key=lambda l: l["per_second"]) if ok else None
    return {
        "mix": list(KINDS),
        "turns_per_conversation": len(mix),
        "seconds_per_level": plan.level_seconds,
        "levels": levels,
        "sustained_per_second": sustained["per_second"] if sustained else 0.0,
        "sustained_at_concurrency": sustained["concurrency"] if sustained else None,
        "max_per_second": best["per_second"],
        "saturates_at_concurrency": saturates["concurrency"],
    }


def measure_socketio(url: str, messages: Dict[str, str], plan: Plan) -> Dict[str, Any]:
    from ._socketio import widgets

    runs = [widgets(url, plan.widgets, messages["answer"]) for _ in range(plan.repeats)]
    out = median_of(
        [{k: r[k] for k in ("answered", "dropped", "failed", "seconds", "connect_ms", "answer_ms")} for r in runs]
    )
    out.update(
        connections=plan.widgets,
        message=messages["answer"],
        dropped_total=sum(r["dropped"] for r in runs),
        failed_total=sum(r["failed"] for r in runs),
        error_examples=[e for r in runs for e in r["error_examples"]][:3],
    )
    say(
        f"socket.io x{plan.widgets}: {out['answered']} answered, {out['dropped_total']} dropped, "
        f"answer p50 {out['answer_ms']['p50']} ms p95 {out['answer_ms']['p95']} ms"
    )
    return out


def measure_retrieval(settings: Settings, plan: Plan, backend: str, scale_too: bool) -> Dict[str, Any]:
    from ._retrieval import questions, real_corpus, scale

    out: Dict[str, Any] = {}
    runs = [real_corpus(settings, backend, plan.retrieval_queries, build=(i == 0)) for i in range(plan.repeats)]
    out["real"] = {
        **runs[0],
        **median_of(
            [
                {k: r[k] for k in ("embed_ms", "search_ms", "embed_and_search_ms", "answer_ms", "model_load_seconds")}
                for r in runs
            ]
        ),
    }
    say(f"retrieval ({out['real']['backend']}): embed+search p50 {out['real']['embed_and_search_ms']['p50']} ms")
    if plan.torch_reference and out["real"]["backend"] != "torch":
        out["real_torch"] = real_corpus(settings, "torch", plan.retrieval_queries, build=True)
        say(f"retrieval (torch): embed+search p50 {out['real_torch']['embed_and_search_ms']['p50']} ms")
    if scale_too:
        from bot.guidance import GuidanceIndex
        from bot.guidance._embedder import make_embedder

        embedder = make_embedder(backend)
        index = GuidanceIndex.load(settings.knowledge_dir / "pages", settings.index_dir, embedder)
        qs = questions(settings, plan.scale_queries)
        out["scale"] = []
        for n in plan.scale_sizes:
            result = scale(index, embedder, n, qs, out["real"].get("embed_passages_per_second") or 0.0)
            out["scale"].append(result)
            e = result["embed_and_search_ms"]
            say(f"scale {n}: embed+search p50 {e['project_bm25']['p50']} ms")
    return out


# ---- report ----------------------------------------------------------------------------


def targets(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    out = []

    def add(name, value, limit, higher_is_better=False):
        met = None if value is None else (value >= limit if higher_is_better else value <= limit)
        out.append({"target": name, "value": value, "limit": limit, "met": met})

    turns = results.get("turns") or {}
    if turns:
        answer1 = turns["1"]["answer"]["latency_ms"]
        add("guidance answer, one user, p50 ms", answer1["p50"], 60)
        add("guidance answer, one user, p95 ms", answer1["p95"], 120)
        add("guidance / plain turn p50", results.get("guidance_to_plain_p50"), 1.6)
        if "10" in turns:
            add("guidance answer, 10 at once, p95 ms", turns["10"]["answer"]["latency_ms"]["p95"], 300)
    if results.get("throughput"):
        add("messages/s sustained with p95 < 1 s", results["throughput"]["sustained_per_second"], 40, True)
    if results.get("retrieval"):
        add("retrieval alone, real corpus, p50 ms", results["retrieval"]["real"]["embed_and_search_ms"]["p50"], 10)
        for s in results["retrieval"].get("scale", []):
            if s["passages"] >= 100000:
                add(
                    f"embed+search at {s['passages']} passages p50 ms",
                    s["embed_and_search_ms"]["project_bm25"]["p50"],
                    50,
                )
    res = results.get("resources") or {}
    if res.get("rasa"):
        add("Rasa server peak RSS MB", res["rasa"]["peak_rss_mb"], 1200)
    if res.get("actions"):
        add("action server peak RSS MB", res["actions"]["peak_rss_mb"], 700)
    if res.get("ready_seconds"):
        add("ready after start, s", res["ready_seconds"].get("all"), 45)
    return out


def table(results: Dict[str, Any]) -> str:
    lines = []
    m = results["machine"]
    lines.append(
        f"Mutuals Assistant bench  {results['started_at']}  commit {(results['git']['commit'] or '?')[:10]}"
        f"{' (dirty)' if results['git']['dirty'] else ''}  {m['cores']} cores ({m.get('cpu') or 'CPU model unknown'}),"
        f" {m['memory_mb']} MB,"
        f" load {m['load_average_at_start'][0]:.2f} → {m.get('load_average_at_end', [0])[0]:.2f}"
        f"{'  QUICK' if results['quick'] else ''}  {results.get('label') or ''}"
    )
    turns = results.get("turns")
    if turns:
        lines.append("\nREST turn latency, ms (median of runs)    p50      p95      p99   errors")
        for c, kinds in turns.items():
            for kind, s in kinds.items():
                l = s["latency_ms"]
                lines.append(
                    f"  {kind:<8} {c:>3} at once {'':<18}{l['p50']:>8} {l['p95']:>8} {l['p99']:>8} "
                    f"{s['errors_total']:>6}"
                )
        lines.append(f"  guidance answer / plain turn, p50: {results.get('guidance_to_plain_p50')}")
    tp = results.get("throughput")
    if tp:
        lines.append("\nThroughput (mix of the three turns)   concurrency  msg/s   p95 ms")
        for l in tp["levels"]:
            lines.append(f"  {'':<36}{l['concurrency']:>6} {l['per_second']:>7} {l['latency_ms']['p95']:>8}")
        lines.append(
            f"  sustained with p95 < 1 s: {tp['sustained_per_second']} msg/s at {tp['sustained_at_concurrency']}"
            f" at once; saturates at {tp['saturates_at_concurrency']} at once ({tp['max_per_second']} msg/s)"
        )
    sio = results.get("socketio")
    if sio:
        lines.append(
            f"\nsocket.io: {sio['connections']} widgets at once: {sio['answered']} answered, "
            f"{sio['dropped_total']} dropped, {sio['failed_total']} failed; answer p50 {sio['answer_ms']['p50']}"
            f" ms, p95 {sio['answer_ms']['p95']} ms; connect p95 {sio['connect_ms']['p95']} ms"
        )
    ret = results.get("retrieval")
    if ret:
        lines.append("\nRetrieval alone, ms                        embed    search   both (p50 / p95)")
        for key in ("real", "real_torch"):
            if key in ret:
                r = ret[key]
                lines.append(
                    f"  real corpus ({r['passages']} passages, {r['backend']:<5})   {r['embed_ms']['p50']:>7}"
                    f" {r['search_ms']['p50']:>8}   {r['embed_and_search_ms']['p50']} / "
                    f"{r['embed_and_search_ms']['p95']}   (index build {r.get('index_build_seconds')} s,"
                    f" model load {r['model_load_seconds']} s)"
                )
        for s in ret.get("scale", []):
            e = s["embed_and_search_ms"]
            lines.append(
                f"  synthetic {s['passages']:>7} passages: embed+hybrid search p50 {e['project_bm25']['p50']} ms"
                f"; dense part "
                f"{s['dense_search_ms']['p50']} ms; BM25 build {s['bm25_build_seconds']} s"
                f" (+{s['rss_growth_mb']['bm25']} MB), vectors {s['embeddings_mb']} MB;"
                f" embedding them ≈ {s['embedding_build_seconds_estimate']} s"
            )
    res = results.get("resources")
    if res:
        lines.append("\nResources")
        for name in ("rasa", "actions", "web"):
            if res.get(name):
                lines.append(f"  {name:<8} peak RSS {res[name]['peak_rss_mb']} MB (now {res[name]['rss_mb']} MB)")
        if res.get("ready_seconds"):
            lines.append("  ready after start: " + ", ".join(f"{k} {v:.1f} s" for k, v in res["ready_seconds"].items()))
        for key in ("training_seconds", "index_build_seconds", "onnx_export_seconds"):
            if res.get(key) is not None:
                lines.append(f"  {key.replace('_', ' ')}: {res[key]}")
    if results.get("targets"):
        lines.append("\nTargets")
        for t in results["targets"]:
            verdict = "?" if t["met"] is None else ("met" if t["met"] else "NOT met")
            lines.append(f"  {t['target']:<52} {str(t['value']):>10}  (limit {t['limit']})  {verdict}")
    return "\n".join(lines)


def plot(results: Dict[str, Any], path: Path) -> Optional[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    turns = results.get("turns") or {}
    for c, style in (("1", "-"), ("10", "--")):
        for kind, colour in zip(KINDS, ("tab:blue", "tab:green", "tab:orange")):
            samples = (turns.get(c) or {}).get(kind, {}).get("samples_ms") or []
            if samples:
                x = np.sort(samples)
                left.plot(x, np.arange(1, len(x) + 1) / len(x), style, color=colour, label=f"{kind}, {c} at once")
    left.set_xscale("log")
    left.set_xlabel("turn latency, ms (REST)")
    left.set_ylabel("share of turns at or below")
    left.set_title("Turn latency distribution")
    left.grid(True, which="both", alpha=0.3)
    if turns:
        left.legend(fontsize=8)
    tp = results.get("throughput")
    if tp:
        c = [l["concurrency"] for l in tp["levels"]]
        right.plot(c, [l["per_second"] for l in tp["levels"]], "o-", color="tab:blue", label="msg/s")
        right.set_xscale("log", base=2)
        right.set_xlabel("conversations at once")
        right.set_ylabel("messages per second", color="tab:blue")
        twin = right.twinx()
        twin.plot(c, [l["latency_ms"]["p95"] for l in tp["levels"]], "s--", color="tab:red", label="p95 ms")
        twin.axhline(1000, color="tab:red", alpha=0.3)
        twin.set_ylabel("p95 latency, ms", color="tab:red")
        right.set_title("Throughput against concurrency")
        right.grid(True, alpha=0.3)
    fig.suptitle(
        f"Mutuals Assistant bench {results['started_at'][:16]} ({results['machine']['cores']} cores"
        f"{', quick' if results['quick'] else ''})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---- main --------------------------------------------------------------------------------


def main(args, settings: Settings) -> int:
    from ._stack import TimedStack, bench_settings, memory, pid_listening_on

    plan = Plan.of(args)
    only = [p.strip() for p in args.only.split(",") if p.strip()] or list(PARTS)
    unknown = set(only) - set(PARTS)
    if unknown:
        print(
            f"mutuals bench: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}",
            file=sys.stderr,
        )
        return 2
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Any] = {
        "schema": 1,
        "tool": "mutuals bench",
        "started_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "label": args.label,
        "quick": bool(args.quick),
        "repeats": plan.repeats,
        "parts": only,
        "plan": dataclasses.asdict(plan),
        "machine": machine(),
        "git": git(),
    }
    needs_stack = any(p in only for p in ("turns", "throughput", "socketio", "resources"))
    stack = None
    with contextlib.ExitStack() as cleanup:
        url = args.rasa_url.rstrip("/") if args.rasa_url else None
        if needs_stack and url is None:
            tmp = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="mutuals-bench-")))
            stack_settings = bench_settings(tmp / "var", settings)
            stack = TimedStack(
                stack_settings, tracker_store=args.tracker_store, embedder=args.embedder, log_dir=out_dir / "logs"
            )
            say(f"starting the stack on free ports (logs in {out_dir / 'logs'})…")
            stack.start()
            cleanup.callback(stack.stop)
            url = stack.settings.rasa_url
        results["stack"] = {
            "started_by_bench": stack is not None,
            "rasa_url": url,
            "tracker_store": args.tracker_store if stack else "as running",
            "embedder": args.embedder if stack else "as running",
        }
        if needs_stack:
            from ._load import load, pick_messages

            messages = pick_messages(url)
            results["messages"] = messages
            say(f"warming up ({plan.warmup} turns of each kind)…")
            for kind in KINDS:
                load(url, [messages[kind]], plan.warmup, 1, tag="warm")
            if "turns" in only:
                results["turns"] = measure_turns(url, messages, plan)
                plain = results["turns"]["1"]["plain"]["latency_ms"]["p50"]
                answer = results["turns"]["1"]["answer"]["latency_ms"]["p50"]
                results["guidance_to_plain_p50"] = round(answer / plain, 2) if plain else None
            if "throughput" in only:
                results["throughput"] = measure_throughput(url, messages, plan)
            if "socketio" in only:
                results["socketio"] = measure_socketio(url, messages, plan)
        if "resources" in only:
            res: Dict[str, Any] = {}
            if stack is not None:
                pids = stack.pids()
                res["ready_seconds"] = {k: round(v, 2) for k, v in stack.ready_seconds.items()}
            else:
                port = urlparse(url).port or 80
                pids = {
                    "rasa": pid_listening_on(port),
                    "actions": pid_listening_on(args.actions_port or settings.actions_port),
                }
            for name, pid in pids.items():
                res[name] = {"pid": pid, **memory(pid)} if pid else None
            if stack is not None:
                for line in (
                    stack.part("actions").log_path.read_text(errors="replace").splitlines()
                    if stack.part("actions").log_path
                    else []
                ):
                    if "embedding with" in line:
                        res["actions_embedder"] = line.split("embedding with", 1)[1].strip()
            meta = settings.var_dir / "onnx"
            with contextlib.suppress(OSError, ValueError, StopIteration):
                res["onnx_export_seconds"] = json.loads(next(meta.glob("*/meta.json")).read_text())["export_seconds"]
            with contextlib.suppress(OSError, ValueError, KeyError):
                res["index_build_seconds_at_setup"] = json.loads((settings.index_dir / "meta.json").read_text())[
                    "build_seconds"
                ]
            if args.train:
                from bot import provision

                say("training the Rasa model (about 2 minutes)…")
                with tempfile.TemporaryDirectory(prefix="mutuals-bench-train-") as tmp:
                    started = time.perf_counter()
                    provision.train(dataclasses.replace(settings, models_dir=Path(tmp)), force=True)
                    res["training_seconds"] = round(time.perf_counter() - started, 1)
            results["resources"] = res
        if stack is not None:
            cleanup.close()
    if "retrieval" in only or "scale" in only:
        results["retrieval"] = measure_retrieval(settings, plan, args.embedder, "scale" in only)
        if results.get("resources") is not None:
            results["resources"]["index_build_seconds"] = results["retrieval"]["real"].get("index_build_seconds")
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["targets"] = targets(results)
    (out_dir / "bench.json").write_text(json.dumps(results, indent=2, default=str))
    written = [out_dir / "bench.json"]
    try:
        written.append(plot(results, out_dir / "bench.png"))
        no_plot = ""
    except Exception as exc:  # matplotlib missing or failing: the figures are in the JSON and the table
        no_plot = f"; no bench.png ({exc.__class__.__name__}: {exc})"
    text = table(results)
    (out_dir / "bench.txt").write_text(text + "\n")
    written.append(out_dir / "bench.txt")
    print(text)
    print(f"\nWrote {', '.join(str(p) for p in written)}{no_plot}")
    return 0
