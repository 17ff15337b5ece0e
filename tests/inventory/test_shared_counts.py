"""When the last units go, the requests of one process share counts, never one older than their question."""
import threading
import time

from app.inventory.claims import SharedCounts


def test_requests_that_need_a_count_at_once_share_one():
    counts, ran = SharedCounts(), []
    first_running, release = threading.Event(), threading.Event()

    def count():
        ran.append(len(ran))
        first_running.set()
        release.wait(10)
        return len(ran)

    answers = []
    first = threading.Thread(target=lambda: answers.append(counts.count("pool", count)))
    first.start()
    first_running.wait(10)
    waiting = [threading.Thread(target=lambda: answers.append(counts.count("pool", count))) for _ in range(8)]
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + 10
    while counts.waiting("pool") < 9 and time.monotonic() < deadline:  # the eight queue behind the first count
        time.sleep(0.01)
    release.set()
    for thread in [first, *waiting]:
        thread.join(10)
    # The first count began before the eight asked, so they do not take it: one more count serves all eight.
    assert len(ran) == 2
    assert sorted(answers) == [(1, True), (2, False), (2, False), (2, False), (2, False), (2, False), (2, False),
                               (2, False), (2, True)]


def test_a_request_alone_counts_for_itself_every_time():
    counts, ran = SharedCounts(), []

    def count():
        ran.append(1)
        return len(ran)

    assert [counts.count("pool", count) for _ in range(3)] == [(1, True), (2, True), (3, True)]


def test_a_count_that_failed_is_shared_with_nobody():
    counts = SharedCounts()
    started, release = threading.Event(), threading.Event()

    def failing():
        started.set()
        release.wait(10)
        raise RuntimeError("deadline exceeded")

    failures = []

    def first():
        try:
            counts.count("pool", failing)
        except RuntimeError as exc:
            failures.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    started.wait(10)
    later = []
    waiter = threading.Thread(target=lambda: later.append(counts.count("pool", lambda: 7)))
    waiter.start()
    release.set()
    thread.join(10)
    waiter.join(10)
    assert len(failures) == 1 and later == [(7, True)]
