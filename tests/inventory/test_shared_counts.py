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
    counts, calls = SharedCounts(), []
    first_running, first_done, second_running, second_done = (threading.Event() for _ in range(4))

    def count():
        calls.append(1)
        if len(calls) == 1:
            first_running.set()
            first_done.wait(10)
            return 1
        if len(calls) == 2:
            second_running.set()
            second_done.wait(10)
            raise RuntimeError("deadline exceeded")
        return 7

    answers, failures = [], []

    def ask():
        try:
            answers.append(counts.count("pool", count))
        except RuntimeError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=ask)]
    threads[0].start()
    first_running.wait(10)
    threads += [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + 10
    while counts.waiting("pool") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    first_done.set()  # one of the two waiting runs the next count, which fails
    second_running.wait(10)
    second_done.set()
    for thread in threads:
        thread.join(10)
    # The other may not take the first count (it began before they asked) nor the failed one: it counts again.
    assert len(failures) == 1 and sorted(answers) == [(1, True), (7, True)]
