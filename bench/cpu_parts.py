"""Where a gunicorn worker's CPU goes per hold, for the benchmarks only.

``install_in_worker(app, counter)`` wraps, in one worker, the calls a hold
request passes through and adds the CPU time of the calling thread
(``time.thread_time``: this thread's CPU, whatever else the machine runs) spent
in each, inclusive, to a Prometheus counter by part, handed over every
FLUSH_SECONDS like bench/firestore_ops.py does:

- ``request``: the whole WSGI call (everything Flask, flask-smorest, the hooks
  and the view do);
- ``token``: the ID-token check (``app.auth.verify_token``);
- ``hooks``: the app's before- and after-request functions (request ids,
  logging, metrics, security headers, the JSON body check);
- ``service``: ``place_hold`` itself, which includes
- ``firestore``: the Firestore client's RPC methods, results read included,
- ``readcache``: cached catalogue reads (Redis).

Besides: ``holds``, the number of place_hold calls that returned. The worker's
CPU outside requests (gunicorn reading and writing HTTP, gRPC's threads) is
its process CPU (from /proc) minus ``request``.
"""
import functools
import re
import threading
import time
from collections import Counter

import requests
from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

FLUSH_SECONDS = 0.1
RPC_METHODS = ("batch_get_documents", "run_query", "run_aggregation_query", "commit", "begin_transaction",
               "rollback", "batch_write", "list_documents", "get_document")


class Meter:
    def __init__(self):
        self._spent = Counter()
        self._lock = threading.Lock()

    def add(self, part, seconds):
        with self._lock:
            self._spent[part] += seconds

    def snapshot(self):
        with self._lock:
            return dict(self._spent)

    def timed(self, part, function):
        @functools.wraps(function)
        def measured(*args, **kwargs):
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(part, time.thread_time() - started)

        return measured


def _timed_stream(meter, responses):
    while True:
        started = time.thread_time()
        try:
            response = next(responses)
        except StopIteration:
            meter.add("firestore", time.thread_time() - started)
            return
        meter.add("firestore", time.thread_time() - started)
        yield response


def _wrap_rpcs(meter):
    for name in RPC_METHODS:
        original = getattr(FirestoreClient, name)

        def measured(self, *args, _original=original, _streams=name in ("batch_get_documents", "run_query"),
                     **kwargs):
            started = time.thread_time()
            result = _original(self, *args, **kwargs)
            meter.add("firestore", time.thread_time() - started)
            return _timed_stream(meter, iter(result)) if _streams else result

        setattr(FirestoreClient, name, functools.wraps(original)(measured))


def install_in_worker(app, counter):
    """Measure this worker's parts into ``meter``, and hand them to the Prometheus ``counter`` (label ``part``)."""
    from app import auth, readcache
    from app.checkout import holds

    meter = Meter()
    app.wsgi_app = meter.timed("request", app.wsgi_app)
    auth.verify_token = meter.timed("token", auth.verify_token)
    readcache.cached = meter.timed("readcache", readcache.cached)
    placed = meter.timed("service", holds.place_hold)

    def counted(*args, **kwargs):
        result = placed(*args, **kwargs)
        meter.add("holds", 1)
        return result

    holds.place_hold = counted
    for hooks in (app.before_request_funcs, app.after_request_funcs):
        for blueprint, functions in hooks.items():
            hooks[blueprint] = [meter.timed("hooks", f) for f in functions]
    _wrap_rpcs(meter)

    def flush():
        sent = {}
        while True:
            time.sleep(FLUSH_SECONDS)
            spent = meter.snapshot()
            for part, seconds in spent.items():
                if seconds - sent.get(part, 0):
                    counter.labels(part).inc(seconds - sent.get(part, 0))
            sent = spent

    threading.Thread(target=flush, name="bench-cpu-flush", daemon=True).start()


def of_server(port):
    """{part: CPU seconds (or holds)} summed over every worker by /api/v1/metrics, once each has flushed."""
    time.sleep(3 * FLUSH_SECONDS)
    text = requests.get(f"http://127.0.0.1:{port}/api/v1/metrics", timeout=10).text
    return {part: float(n) for part, n in re.findall(r'^bench_cpu_seconds_total\{part="([^"]+)"\} (\S+)$',
                                                     text, flags=re.M)}


def per_hold(parts, worker_cpu):
    """{part: CPU ms per hold} of a run's ``parts`` diff and the workers' process CPU over it."""
    holds = max(parts.get("holds", 0), 1)
    ms = {part: parts.get(part, 0) * 1000 / holds
          for part in ("request", "token", "hooks", "service", "firestore", "readcache")}
    ms["outside requests"] = max(0.0, worker_cpu * 1000 / holds - ms["request"])
    ms["framework"] = max(0.0, ms["request"] - ms["token"] - ms["hooks"] - ms["service"])
    ms["service logic"] = max(0.0, ms["service"] - ms["firestore"] - ms["readcache"])
    return ms
