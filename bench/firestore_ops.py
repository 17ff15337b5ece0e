"""Counting what a process asks of Firestore, for the benchmarks only.

``install(sink)`` wraps the generated Firestore client's RPC methods in this
process, so every call the app or a benchmark loop makes is seen once, however
it was reached (document get, query stream, batch, transaction, count query).
It counts logical calls as the client library issues them: a call the library
retries internally after UNAVAILABLE counts once, a transaction the library
re-runs after ABORTED counts every attempt.

Kinds counted:
- ``rpc:<method>`` one per call;
- ``doc_lookup`` each document a get asked for, found or missing (Firestore bills both as a read);
- ``query_doc`` each document a query returned;
- ``write`` each write in a commit (create, set, update, delete);
- ``aggregation`` each count() query (billed per 1,000 index entries it scans, not per document);
- ``commit_refused`` each commit Firestore refused because a document it creates exists (a collision) or
  because its transaction lost to another (aborted);
- ``collision_own_lane`` and ``collision_other_lane`` (``count_collisions``, gunicorn workers only) each unit
  a hold found claimed by another buyer, by whether the unit is in this worker's lane.
"""
import functools
import re
import threading
import time
from collections import Counter

import requests
from google.api_core import exceptions as gexc
from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

READ_KINDS = ("doc_lookup", "query_doc")
FLUSH_SECONDS = 0.1


class Tally:
    """A thread-safe in-process sink."""

    def __init__(self):
        self._counts = Counter()
        self._lock = threading.Lock()

    def __call__(self, kind, n=1):
        with self._lock:
            self._counts[kind] += n

    def snapshot(self):
        with self._lock:
            return dict(self._counts)


def reads(counts):
    return sum(counts.get(kind, 0) for kind in READ_KINDS)


def rpcs(counts):
    return sum(n for kind, n in counts.items() if kind.startswith("rpc:"))


def diff(after, before):
    return {kind: n - before.get(kind, 0) for kind, n in after.items() if n - before.get(kind, 0)}


def _documents_in(request, field):
    value = request.get(field) if isinstance(request, dict) else getattr(request, field, None)
    return len(value or ())


def _stream(responses, sink):
    for response in responses:
        if getattr(response, "_pb", response).WhichOneof("result"):
            sink("doc_lookup")
        yield response


def _query_stream(responses, sink):
    for response in responses:
        if getattr(response, "_pb", response).HasField("document"):
            sink("query_doc")
        yield response


def install(sink):
    """Count this process's Firestore RPCs into ``sink(kind, n)``. Installing twice is a no-op."""
    if getattr(FirestoreClient, "_bench_counted", False):
        return

    def wrap(name, after=None):
        original = getattr(FirestoreClient, name)

        @functools.wraps(original)
        def counted(self, request=None, **kwargs):
            sink(f"rpc:{name}")
            if name == "commit":
                sink("write", _documents_in(request, "writes"))
            elif name == "run_aggregation_query":
                sink("aggregation")
            try:
                result = original(self, request=request, **kwargs)
            except (gexc.AlreadyExists, gexc.Aborted):
                sink("commit_refused")
                raise
            return after(result, sink) if after else result

        setattr(FirestoreClient, name, counted)

    wrap("batch_get_documents", _stream)
    wrap("run_query", _query_stream)
    for name in ("run_aggregation_query", "commit", "begin_transaction", "rollback", "batch_write",
                 "list_documents", "get_document"):
        wrap(name)
    FirestoreClient._bench_counted = True


def install_in_worker(counter):
    """Count this gunicorn worker's calls as a raw loop does (a Tally), handing them to the Prometheus
    ``counter`` every FLUSH_SECONDS: a multiprocess counter per call would cost the app more than the loop."""
    tally = Tally()
    install(tally)

    def flush():
        sent = {}
        while True:
            time.sleep(FLUSH_SECONDS)
            counts = tally.snapshot()
            for kind, n in diff(counts, sent).items():
                counter.labels(kind).inc(n)
            sent = counts

    threading.Thread(target=flush, name="bench-ops-flush", daemon=True).start()
    return tally


def count_collisions(sink):
    """Count each unit a hold of this process found claimed by another buyer, by whether the unit is in this
    worker's own lane (another worker selling the same lane, or one whose lane ran dry taking from it) or in
    another's (this worker's lane ran dry, or a probe's answer went stale)."""
    from app.inventory import claims
    from app.inventory.units import HINT

    learn = claims.learn

    @functools.wraps(learn)
    def counted(pool, doc_id, unit, attempts, now):
        expired = learn(pool, doc_id, unit, attempts, now)
        if not expired:
            own = pool.units.index(unit) % HINT.lanes == HINT.lane
            sink("collision_own_lane" if own else "collision_other_lane")
        return expired

    claims.learn = counted


def of_server(port):
    """The counts of every gunicorn worker so far, summed by /api/v1/metrics, once each worker has flushed."""
    time.sleep(3 * FLUSH_SECONDS)
    text = requests.get(f"http://127.0.0.1:{port}/api/v1/metrics", timeout=10).text
    return {kind: float(n) for kind, n in re.findall(r'^bench_firestore_ops_total\{kind="([^"]+)"\} (\S+)$',
                                                     text, flags=re.M)}
