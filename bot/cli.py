"""``mutuals``: the command line of Mutuals Assistant. ``mutuals --help`` lists the commands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from bot.settings import Settings, SettingsError

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# the blind splits both question sets have, each written from the pages alone and run once
# (blind2 is a dialogue split only)
BLIND_SPLITS = ("blind3", "blind4", "blind5", "blind6", "blind7", "blind8", "blind9")


def cmd_setup(args, settings: Settings) -> int:
    from bot import provision

    provision.setup(settings)
    return 0


def cmd_train(args, settings: Settings) -> int:
    from bot import provision

    provision.train(settings, force=args.force)
    return 0


def cmd_tune(args, settings: Settings) -> int:
    from bot import provision

    provision.tuned_embedder(settings, force=args.force)
    return 0


def cmd_index(args, settings: Settings) -> int:
    from bot import provision

    provision.index(settings, force=args.force)
    return 0


def cmd_run(args, settings: Settings) -> int:
    from bot.stack import Stack, StackError, Stopping, stop_on_signals

    stack = Stack(settings, echo=args.verbose, die_with_parent=True, startup_timeout=args.startup_timeout)
    s = stack.settings
    with stop_on_signals():  # SIGTERM and SIGHUP stop everything, as Ctrl-C does
        print("Starting Mutuals Assistant (the first start loads the models: about 20 seconds)…", flush=True)
        try:
            stack.start()
        except StackError as exc:
            print(f"Could not start: {exc}.", file=sys.stderr)
            return 1
        except KeyboardInterrupt as exc:
            why = f" ({exc.args[0]})" if isinstance(exc, Stopping) else ""
            print(f"\nStopped while starting{why}.", file=sys.stderr)
            return 0 if isinstance(exc, Stopping) else 130
        try:
            print(
                f"""
Mutuals Assistant is running. Stop it with Ctrl-C (or SIGTERM, or SIGHUP).
  Web chat and guidance   {s.web_url}/
  REST channel            POST {s.rasa_url}/webhooks/rest/webhook  {{"sender": "me", "message": "..."}}
  Widget socket.io        {s.rasa_url}/socket.io
  Rasa HTTP API (token)   {s.rasa_url}  (token in {s.var_dir / 'secrets' / 'rasa_token'})
  Action server           {s.actions_url}
  Conversations           {s.tracker_store}
  Telegram                {'started (long polling)' if stack.telegram else 'not started: no TELEGRAM_BOT_TOKEN set'}
  Logs                    {stack.log_dir}/  (restarts of a part that stopped: stack.log)
""",
                flush=True,
            )
        except (OSError, KeyboardInterrupt):  # the terminal went away, or a stop came, while printing
            stack.stop()
            return 0
        return stack.wait()


def cmd_ask(args, settings: Settings) -> int:
    from bot.guidance import GuidanceDesk, GuidanceIndex

    question = " ".join(args.question)
    index = GuidanceIndex.load(settings.knowledge_dir / "pages", settings.index_dir)
    desk = GuidanceDesk.for_settings(index, settings, mode=args.mode)
    answer = desk.answer(question)
    if args.json:
        print(json.dumps(answer.as_json(), ensure_ascii=False))
    else:
        from bot.terminal_text import plain_text

        print(plain_text(answer.text, [(b.title, b.payload) for b in answer.buttons]))
    return 0


def cmd_knowledge_check(args, settings: Settings) -> int:
    """Errors (exit 1) first, then the editors' worklist: what is due for review or rewording, soonest
    first (warnings: exit 0 unless --strict)."""
    import datetime as dt

    from bot.guidance._check import check_pages, load_checkable, worklist

    pages_dir = settings.knowledge_dir / "pages"
    problems = check_pages(pages_dir)
    for problem in problems:
        print(f"error: {problem}")
    today = args.today or dt.date.today()
    pages = load_checkable(pages_dir)
    items = worklist(pages, today, ahead=args.ahead)
    for item in items:
        print(item.line(today))
    due = sum(1 for item in items if item.due <= today)
    if problems:
        print(f"{len(problems)} problem(s) in {pages_dir}", file=sys.stderr)
        return 1
    from bot.guidance._phrasings import load_phrasings, phrasings_dir

    phrasings = load_phrasings(phrasings_dir(pages_dir), pages)
    print(
        f"ok: {len(pages)} pages, {sum(len(p.passages) for p in pages)} passages, "
        f"{sum(len(v) for v in phrasings.values())} phrasings; "
        f"{due} item(s) due on {today.isoformat()}"
        + (f", {len(items) - due} more within {args.ahead} days" if args.ahead else "")
    )
    if due and args.strict:
        print(f"--strict: {due} item(s) due for review", file=sys.stderr)
        return 1
    return 0


def _iso_date(value: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2027-01-31") from None


def cmd_eval_clarify(args, settings: Settings) -> int:
    from bot.guidance import GuidanceIndex
    from bot.guidance._answer import THRESHOLDS
    from bot.guidance._clarifying import choose_margin, clarify_table
    from bot.guidance._evaluation import load_questions

    index = GuidanceIndex.load(settings.knowledge_dir / "pages", settings.index_dir)
    questions = [q for q in load_questions(settings.knowledge_dir / "questions") if q.split == args.split]
    threshold = settings.answer_threshold or THRESHOLDS[settings.retrieval_mode]
    rows = clarify_table(index, questions, threshold, settings.retrieval_mode)
    chosen = choose_margin(rows)
    if args.json:
        print(json.dumps({"split": args.split, "rows": rows, "chosen_margin": chosen}, indent=2))
        return 0
    print(f"{rows[0]['questions']} answerable {args.split} questions")
    print("margin  clarified  wrong prevented (right page offered)  extra clicks  wrong confident left")
    for r in rows:
        print(
            f"{r['margin']:>6}  {r['clarified']:>9}  {r['wrong_answers_prevented']:>15} "
            f"({r['of_which_right_page_offered']:>3})                 {r['extra_clicks']:>12}  "
            f"{r['wrong_confident_answers_left']:>20}"
        )
    print(f"chosen by the rule in bot/guidance/_clarifying.py: {chosen}")
    return 0


def cmd_eval_dialogue(args, settings: Settings) -> int:
    from bot.guidance import GuidanceDesk, GuidanceIndex
    from bot.guidance._dialogues import load_dialogues, replay, summarise, tune
    from bot.guidance._embedder import Remembering

    index = GuidanceIndex.load(settings.knowledge_dir / "pages", settings.index_dir)
    index._embedder = Remembering(index.embedder)  # the grid asks the same texts many times
    desk = GuidanceDesk.for_settings(index, settings)
    dialogues = [d for d in load_dialogues(settings.knowledge_dir / "questions") if args.split in ("all", d.split)]
    if args.grid:
        rows = tune(desk, dialogues)
        if args.json:
            print(json.dumps(rows[:20], indent=2))
        else:
            for row in rows[:10]:
                print(
                    f"{row['right']}/{row['turns']} right, must-not declined {row['must_not_declined']}, "
                    f"worse than alone {row['worse_than_alone']}: {row['rules']}"
                )
        return 0
    results = replay(desk, dialogues)
    summary = dict(summarise(results, dialogues), split=args.split)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        f, n, m = summary["followup"], summary["first_or_new_topic"], summary["must_not_answer"]
        print(
            f"{summary['dialogues']} dialogues ({args.split}); {summary['chitchat_turns_skipped']} chit-chat turns "
            "left to `mutuals eval routing`"
        )
        print(
            f"  follow-ups answered from the right page: in context {f['in_context']}, asked alone {f['alone']} "
            f"({f['turns']} turns; right section in context {f['right_section_in_context']})"
        )
        print(
            f"  first questions and new topics: in context {n['in_context']}, alone {n['alone']} ({n['turns']} turns)"
        )
        print(
            f"  must-not-answer declined: in context {m['declined_in_context']}, alone {m['declined_alone']} "
            f"({m['turns']} turns)"
        )
        print(
            f"  clarifications picked: {summary['clarifications_in_context']}; turns right alone but wrong in "
            f"context: {summary['wrong_in_context_right_alone']}"
        )
    if args.misses:
        for r in results:
            if not r.right_in_context:
                got = r.in_context.passage_id or r.in_context.reason
                print(
                    f"  {r.dialogue}: {r.turn.text!r} -> expected {r.turn.slug or r.turn.expect}"
                    f"#{r.turn.section or ''} | got {got} ({r.in_context.score:.3f})",
                    file=sys.stderr,
                )
    return 0


def _eval_through_model(args, settings: Settings, index, questions) -> int:
    """``mutuals eval retrieval --split S --through-model``: the split through the trained Rasa
    model and the guidance desk, as the assistant meets it (bot/nlu/_evaluation.py)."""
    from bot.guidance import GuidanceDesk
    from bot.nlu._evaluation import through_model

    if not settings.model_file.exists():
        print(f"mutuals: no trained model at {settings.model_file}; run 'mutuals train' first", file=sys.stderr)
        return 2
    result = through_model(
        settings.model_file, [q for q in questions if q.split == args.split], GuidanceDesk.for_settings(index, settings)
    )
    if args.json:
        print(json.dumps(result if args.misses else {k: v for k, v in result.items() if k != "misses"}, indent=2))
        return 0
    print(
        f"{args.split} questions through the model and the guidance desk: {result['answerable']} answerable, "
        f"{result['must_not_answer']} must-not-answer\n"
    )
    for key, label in [
        ("answered_from_right_page", "answerable answered from the right page"),
        ("right_page_or_offered", "  or the right page offered in a clarification"),
        ("answerable_declined", "answerable declined (sent away by the model, or not answered)"),
        ("answerable_sent_away_by_model", "  of which sent away by the model"),
        ("must_not_declined", "must-not-answer declined"),
        ("must_not_declined_by_model", "  of which by the model (out of scope, small talk ...)"),
    ]:
        print(f"  {result[key] if result[key] is not None else '-':>6}  {label}")
    if args.misses:
        print("\nMisses: question → expected | intent, reply")
        for m in result["misses"]:
            print(
                f"  {m['text']!r} → {m['slug'] or '(must not answer)'} | {m['intent']}, {m.get('reason')} {m.get('page') or ''}"
            )
    return 0


def _eval_request_grid(args, index, tune, model: str) -> int:
    """`--requests`: the request classifier's threshold on the tune split (bot/guidance/_requests.py)."""
    from bot.guidance._evaluation import choose_request_threshold, request_grid
    from bot.guidance._requests import REQUEST_THRESHOLD

    rows = request_grid(index, tune)
    chosen = choose_request_threshold(rows)
    if args.json:
        print(json.dumps({"thresholds": rows, "chosen": chosen, "in_use": REQUEST_THRESHOLD}, indent=2))
        return 0
    print(f"The request classifier's threshold on the tune split ({model}, hybrid, with every other rule)\n")
    print(f"{'threshold':>9} {'must-not':>8} {'wrongly':>7} {'hit@1':>6}")
    for r in rows:
        shown = "off" if r["request_threshold"] is None else f"{r['request_threshold']:.2f}"
        print(f"{shown:>9} {r['declined_unanswerable']:>8.3f} {r['declined_answerable']:>7.3f} {r['hit_at_1']:>6.3f}")
    print(f"\nchosen by the rule (most must-not declined, at most 3 % wrongly): {chosen}; in use: {REQUEST_THRESHOLD}")
    return 0


def cmd_eval_retrieval(args, settings: Settings) -> int:
    from bot.guidance import GuidanceIndex
    from bot.guidance._evaluation import evaluate, load_questions, nearness_grid, outside_grid, weight_grid
    from bot.guidance._outside import OUTSIDE_MARGIN

    if args.through_model and not args.split:  # before the index is loaded: nothing is measured
        print("mutuals: --through-model needs --split (it parses every question with the model)", file=sys.stderr)
        return 2

    pages = settings.knowledge_dir / "pages"
    if args.model and args.model != settings.embedding_model:  # the other model's index, kept beside
        from bot.guidance._embedder import make_embedder

        index = GuidanceIndex.load(pages, settings.var_dir / f"index-{args.model}", make_embedder(kind=args.model))
    else:
        index = GuidanceIndex.load(pages, settings.index_dir)
    model = getattr(index.embedder, "model_id", "?")
    questions = load_questions(settings.knowledge_dir / "questions")
    if args.weights:
        rows = weight_grid(index, [q for q in questions if q.split == "tune"])
        if args.json:
            print(json.dumps(rows[:30], indent=2))
            return 0
        print(f"Hybrid weights on the tune split ({model}), best first; threshold chosen by the rule for each\n")
        print(
            f"{'page':>5} {'bm25':>5} {'asked':>5} {'threshold':>9} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7} "
            f"{'must-not':>8} {'wrongly':>7} {'rank-only':>9}"
        )
        for r in rows[:15]:
            print(
                f"{r['page_weight']:>5} {r['bm25_weight']:>5} {r['asked_weight']:>5} {r['threshold']:>9.3f} "
                f"{r['hit_at_1']:>6.3f} {r['hit_at_3']:>6.3f} {r['mrr_at_10']:>7.3f} "
                f"{r['declined_unanswerable']:>8.3f} {r['declined_answerable']:>7.3f} {r['rank_only_hit_at_1']:>9.3f}"
            )
        return 0
    if args.outside:
        tune = [q for q in questions if q.split == "tune"]
        rows = outside_grid(index, tune)
        near = nearness_grid(index, tune)
        if args.json:
            print(json.dumps({"margins": rows, "nearness": near}, indent=2))
            return 0
        print(
            f"The softer rule on the tune split ({model}, hybrid, margin {OUTSIDE_MARGIN}): for each weight, "
            "the highest nearness threshold within the 3 % rule\n"
        )
        print(f"{'weight':>6} {'nearness':>9} {'hit@1':>6} {'hit@3':>6} {'must-not':>8} {'wrongly':>7}")
        for r in near:
            print(
                f"{r['weight']:>6} {r['nearness_threshold']:>9.3f} {r['hit_at_1']:>6.3f} {r['hit_at_3']:>6.3f} "
                f"{r['declined_unanswerable']:>8.3f} {r['declined_answerable']:>7.3f}"
            )
        print()
        print(
            f"The outside-the-guidance margin on the tune split ({model}, hybrid); threshold chosen by the "
            "rule for each\n"
        )
        print(f"{'margin':>6} {'threshold':>9} {'hit@1':>6} {'hit@3':>6} {'must-not':>8} {'wrongly':>7}")
        for r in rows:
            margin = "off" if r["outside_margin"] is None else f"{r['outside_margin']:.2f}"
            print(
                f"{margin:>6} {r['threshold']:>9.3f} {r['hit_at_1']:>6.3f} {r['hit_at_3']:>6.3f} "
                f"{r['declined_unanswerable']:>8.3f} {r['declined_answerable']:>7.3f}"
            )
        return 0
    if args.requests:
        return _eval_request_grid(args, index, [q for q in questions if q.split == "tune"], model)
    if args.through_model:
        return _eval_through_model(args, settings, index, questions)
    thresholds = None
    if args.thresholds == "current":
        from bot.guidance._answer import thresholds_for

        thresholds = thresholds_for(index.embedder)
    splits = (args.split,) if args.split else ("tune", "dev", "heldout")  # only the split asked for is searched
    shown_split = args.split or "heldout"
    results = evaluate(index, questions, thresholds, splits=splits)
    if args.json:
        print(
            json.dumps(
                {
                    mode: dict(
                        {"threshold": r["threshold"], "model": model}, **{name: r[name].as_json() for name in splits}
                    )
                    for mode, r in results.items()
                },
                indent=2,
            )
        )
        return 0
    shown = next(iter(results.values()))[shown_split]
    chosen = "from bot/guidance/_answer.py" if thresholds else "chosen on the tune split"
    print(
        f"{shown_split} questions: {shown.answerable} answerable, {shown.unanswerable} must-not-answer "
        f"(thresholds {chosen}; model {model})\n"
    )
    print(
        f"{'mode':<8} {'threshold':>9} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7} "
        f"{'declined must-not':>18} {'declined answerable':>20}"
    )
    for mode, r in results.items():
        s = r[shown_split]
        print(
            f"{mode:<8} {r['threshold']:>9.3f} {s.hit_at_1:>6.3f} {s.hit_at_3:>6.3f} {s.mrr_at_10:>7.3f} "
            f"{s.declined_unanswerable:>18.3f} {s.declined_answerable:>20.3f}"
        )
    if args.misses:
        mode = args.misses
        print(f"\nMisses on the {shown_split} questions ({mode}): question → expected | got top 3 | confidence")
        for text, slug, got, conf in results[mode]["misses"][shown_split]:
            print(f"  {text!r} → {slug} | {got} | {conf}")
    return 0


def cmd_adviser_add(args, settings: Settings) -> int:
    import getpass

    from bot.console import WeakPassword, hash_password
    from bot.handoff import HandoffError, HandoffStore

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.email}: ")
        if getpass.getpass("The same again: ") != password:
            print("mutuals: the two passwords differ; nothing was changed", file=sys.stderr)
            return 2
    try:
        adviser = HandoffStore(settings.handoff_store).add_adviser(
            args.name, args.email, args.role, hash_password(password)
        )
    except (WeakPassword, HandoffError) as exc:
        print(f"mutuals: {exc}; nothing was changed", file=sys.stderr)
        return 2
    print(
        f"added {adviser.role} {adviser.name} <{adviser.email}> (#{adviser.id}); they sign in at {settings.web_url}/console"
    )
    return 0


def cmd_adviser_list(args, settings: Settings) -> int:
    from bot.handoff import HandoffStore

    for a in HandoffStore(settings.handoff_store).advisers():
        print(f"#{a.id}\t{a.role}\t{a.name}\t{a.email}{'' if a.active else '  (inactive)'}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mutuals", description="Mutuals Assistant")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("setup", help="train the model and build the index when their inputs changed")
    s.set_defaults(func=cmd_setup)

    s = sub.add_parser("run", help="start the whole assistant (Ctrl-C, SIGTERM or SIGHUP stops it)")
    s.add_argument("--verbose", action="store_true", help="show every server's log here")
    s.add_argument(
        "--startup-timeout",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="how long each server may take to be ready, at start and after a restart (default 180)",
    )
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("train", help="train the Rasa model if config.yml, domain.yml or nlu_data/ changed")
    s.add_argument("--force", action="store_true")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("tune", help="fine-tune the embedding model on knowledge/ if it changed, and export it")
    s.add_argument("--force", action="store_true")
    s.set_defaults(func=cmd_tune)

    s = sub.add_parser("index", help="build the guidance index if knowledge/ changed")
    s.add_argument("--force", action="store_true")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("ask", help="answer a question from the guidance, as the assistant would")
    s.add_argument("question", nargs="+")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--mode", choices=["dense", "bm25", "rrf", "hybrid"])
    s.set_defaults(func=cmd_ask)

    k = sub.add_parser("knowledge", help="work with the guidance pages")
    ksub = k.add_subparsers(dest="knowledge_command", metavar="SUBCOMMAND")
    ksub.required = True
    s = ksub.add_parser(
        "check",
        help="check every page's front matter, sections and links, and list "
        "what is due for review (the editors' worklist)",
    )
    s.add_argument("--strict", action="store_true", help="also fail (exit 1) when anything is due for review")
    s.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="the date to check against (default: today)")
    s.add_argument(
        "--ahead",
        type=int,
        default=0,
        metavar="DAYS",
        help="also list what falls due in the next DAYS days (marked 'soon'; never fails)",
    )
    s.set_defaults(func=cmd_knowledge_check)

    a = sub.add_parser("adviser", help="manage the advisers who use the console")
    asub = a.add_subparsers(dest="adviser_command", metavar="SUBCOMMAND")
    asub.required = True
    s = asub.add_parser("add", help="add an adviser (asks for a password of at least 12 characters)")
    s.add_argument("name")
    s.add_argument("--email", required=True)
    s.add_argument("--role", choices=["adviser", "supervisor"], default="adviser")
    s.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    s.set_defaults(func=cmd_adviser_add)
    s = asub.add_parser("list", help="list the advisers")
    s.set_defaults(func=cmd_adviser_list)

    s = sub.add_parser("retention", help="delete conversations and closed cases older than the retention periods")
    s.add_argument("--dry-run", action="store_true", help="say what would be deleted; delete nothing")
    s.set_defaults(
        func=lambda args, settings: __import__("bot.privacy._retention", fromlist=["main"]).main(
            settings, dry_run=args.dry_run
        )
    )

    s = sub.add_parser("insights", help="the dashboard's figures: conversations, answers, handoffs, feedback")
    __import__("bot.insights._cli", fromlist=["add_arguments"]).add_arguments(s)

    s = sub.add_parser("bench", help="measure speed, memory and scale (a table; JSON and a plot under --out)")
    from bot.bench import add_arguments as add_bench_arguments

    add_bench_arguments(s)

    e = sub.add_parser("eval", help="measure the assistant")
    esub = e.add_subparsers(dest="eval_command", metavar="SUBCOMMAND")
    esub.required = True
    s = esub.add_parser("retrieval", help="hit@1, hit@3, MRR@10 and abstention on one split of the questions")
    s.add_argument("--json", action="store_true")
    s.add_argument("--misses", choices=["dense", "bm25", "rrf", "hybrid"], help="list a mode's misses")
    s.add_argument(
        "--split",
        choices=[
            "tune",
            "dev",
            "heldout",
            "fresh",
            "blind",
            *BLIND_SPLITS,
        ],
        help="score only these questions (default: every split, the table for heldout); thresholds "
        "are chosen on tune; dev is the worn-out first tuning split; heldout was run several "
        "times while building; fresh, blind and blind3 to blind9 were written blind after that, each to be run once",
    )
    s.add_argument("--model", choices=["tuned", "base"], help="the embedding model (default: MUTUALS_EMBEDDING_MODEL)")
    s.add_argument(
        "--thresholds",
        choices=["chosen", "current"],
        default="chosen",
        help="chosen: by the rule on the tune split (default); current: those in bot/guidance/_answer.py",
    )
    s.add_argument("--weights", action="store_true", help="try hybrid's weights on the tune split")
    s.add_argument(
        "--through-model",
        action="store_true",
        help="with --split: each question parsed by the trained Rasa model first, as the assistant meets it",
    )
    s.add_argument(
        "--outside",
        action="store_true",
        help="try the outside-the-guidance margins on the tune split (bot/guidance/_outside.py)",
    )
    s.add_argument(
        "--requests",
        action="store_true",
        help="try the request classifier's thresholds on the tune split (bot/guidance/_requests.py)",
    )
    s.set_defaults(func=cmd_eval_retrieval)
    s = esub.add_parser("clarify", help="wrong answers a clarifying question prevents, and the clicks it costs")
    s.add_argument("--split", choices=["tune", "heldout"], default="tune", help="choose the margin on 'tune' only")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_eval_clarify)
    s = esub.add_parser("dialogue", help="follow-ups answered in context against the same turns asked alone")
    s.add_argument(
        "--split",
        choices=[
            "tune",
            "heldout",
            "blind",
            "blind2",
            *BLIND_SPLITS,
            "all",
        ],
        default="heldout",
        help="which dialogues (tune on 'tune' only; blind2 to blind9 were written blind, each to be run once)",
    )
    s.add_argument("--json", action="store_true")
    s.add_argument("--grid", action="store_true", help="try the context rules' grid and list the best settings")
    s.add_argument("--misses", action="store_true", help="list the turns answered wrongly in context")
    s.set_defaults(func=cmd_eval_dialogue)
    s = esub.add_parser("routing", help="where the NLU sends questions, small talk, crisis and injection messages")
    __import__("bot.nlu._evaluation", fromlist=["add_arguments"]).add_arguments(s)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # `mutuals` alone: what it can do, not a usage error
        parser().print_help()
        return 0
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"mutuals: {exc}", file=sys.stderr)
        return 2
    return args.func(args, settings)


if __name__ == "__main__":
    sys.exit(main())
