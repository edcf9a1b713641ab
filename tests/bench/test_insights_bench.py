"""``python -m bot.bench._insights`` on a tiny run: it generates the stores, times the dashboard
through the console and prints its table; the generated figures add up. The times themselves are
not asserted (they depend on the machine); docs/insights.md has a full run's."""

from __future__ import annotations

import json

from bot.bench._insights import main


def test_the_insights_bench_runs_and_reports(capsys, tmp_path):
    assert (
        main(
            [
                "--conversations",
                "300",
                "--misses",
                "50",
                "--repeats",
                "1",
                "--json",
                "--dir",
                str(tmp_path),
                "--embedding-sample",
                "0",
            ]
        )
        == 0
    )
    results = json.loads(capsys.readouterr().out)
    sqlite = results["sqlite"]
    assert sqlite["parts_add_up"] is True and sqlite["totals"]["misses"] == 50
    assert (
        0 < sqlite["totals"]["conversations"] <= 300
        and sqlite["totals"]["questions"] >= sqlite["totals"]["conversations"] * 0.9
    )
    assert sqlite["loaded"]["events"] > 300 * 10 and sqlite["page_bytes"] > 10000
    assert all(sqlite[f"{k}_seconds"] > 0 for k in ("figures", "page", "json", "csv"))
    # the gap page on the same misses: every one grouped, and the page loaded as a supervisor
    grouped = sqlite["grouped"]
    assert grouped["new_groups"] >= 1 and grouped["new_groups"] + grouped["joined"] <= 50
    assert sqlite["grouping_seconds"] > 0 and sqlite["gap_page_seconds"] > 0 and sqlite["gap_page_bytes"] > 1000
