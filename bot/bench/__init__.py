"""``mutuals bench``: speed, memory and scale of the running assistant, measured.

Starts the stack on free loopback ports (or uses one given by ``--rasa-url``), warms it up, then
measures turn latency through the REST channel (plain, guidance answer, abstention; 1, 10 and 50
conversations at once), throughput against concurrency, 100 socket.io widget connections,
retrieval alone (the real corpus and synthetic ones of 10,000 and 100,000 passages) and the
servers' peak memory and start time. Prints a table and writes ``bench.json`` and ``bench.png``
under ``--out``. Nothing heavy is imported here: ``mutuals --help`` stays fast.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="bench-results", help="folder for bench.json and bench.png (default: %(default)s)")
    p.add_argument("--rasa-url", help="use this running Rasa server instead of starting a stack")
    p.add_argument(
        "--actions-port",
        type=int,
        help="with --rasa-url: the action server's port, to read its memory (default: MUTUALS_ACTIONS_PORT)",
    )
    p.add_argument("--quick", action="store_true", help="a tiny run (seconds): checks the tool, not the figures")
    p.add_argument(
        "--repeats", type=int, help="runs of each measurement; each figure is their median (default 3, quick 1)"
    )
    p.add_argument(
        "--only", default="", help="comma-separated parts: turns,throughput,socketio,retrieval,scale,resources"
    )
    p.add_argument("--scale", default="10000,100000", help="synthetic corpus sizes (default: %(default)s)")
    p.add_argument("--train", action="store_true", help="also time a forced training run (about 2 minutes)")
    p.add_argument(
        "--embedder",
        choices=["auto", "onnx", "torch"],
        default="auto",
        help="the action server's embedding backend when the bench starts the stack",
    )
    p.add_argument(
        "--tracker-store",
        choices=["sql", "memory"],
        default="sql",
        help="the Rasa tracker store when the bench starts the stack (default: the project's SQL one)",
    )
    p.add_argument("--label", default="", help="a note stored with the results (e.g. what was changed)")
    p.set_defaults(func=run)


def run(args, settings) -> int:
    from bot.bench._run import main

    return main(args, settings)
