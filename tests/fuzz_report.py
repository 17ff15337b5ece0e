"""The fuzz runs' counts, printed in the terminal summary, also when the suite runs in pytest-xdist workers.

A run's counts (``fuzz_stats[name]``: cases, the inputs reached, statuses and
boundary values met) are kept in the config of the process that ran it; a
worker hands them to the controller when it finishes (``workeroutput``), and
the controller adds them up and prints them.
"""
from collections import Counter

import pytest

FUZZ_STATS = pytest.StashKey[dict]()


@pytest.fixture
def fuzz_stats(pytestconfig):
    """Counts of a fuzz run by name, reported in the terminal summary."""
    return pytestconfig.stash.setdefault(FUZZ_STATS, {})


def _portable(stats):
    return {run: {**counts, "operations": sorted(map(str, counts["operations"])),
                  "statuses": dict(counts["statuses"]), "boundaries": dict(counts.get("boundaries") or {})}
            for run, counts in stats.items()}


def _add(into, stats):
    for run, counts in stats.items():
        mine = into.setdefault(run, {"cases": 0, "operations": set(), "documented": counts["documented"],
                                     "statuses": Counter(), "boundaries": Counter()})
        mine["cases"] += counts["cases"]
        mine["operations"].update(counts["operations"])
        mine["statuses"].update(counts["statuses"])
        mine["boundaries"].update(counts["boundaries"])


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["fuzz_stats"] = _portable(session.config.stash.get(FUZZ_STATS, {}))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _add(node.config.stash.setdefault(FUZZ_STATS, {}), getattr(node, "workeroutput", {}).get("fuzz_stats", {}))


def pytest_terminal_summary(terminalreporter, config):
    stats = config.stash.get(FUZZ_STATS, None)
    if not stats:
        return
    terminalreporter.write_sep("-", "fuzzing")
    for run, counts in stats.items():
        reached = f"; reached {dict(sorted(counts['boundaries'].items()))}" if counts.get("boundaries") else ""
        terminalreporter.write_line(
            f"{run}: {counts['cases']} generated cases over {len(counts['operations'])} inputs "
            f"of {counts['documented']} documented; statuses {dict(sorted(counts['statuses'].items()))}{reached}")
