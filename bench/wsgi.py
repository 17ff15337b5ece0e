"""The real app plus a bare hello endpoint, served by gunicorn for the benchmarks only.

With BENCH_COUNT_FIRESTORE set, every worker counts its Firestore calls
(bench/firestore_ops.py) into a Prometheus counter that /api/v1/metrics sums
over the workers, so a benchmark can diff it around a run.
"""
import os

from app import create_app

app = create_app()

if os.environ.get("BENCH_COUNT_FIRESTORE"):
    from prometheus_client import Counter

    from bench import firestore_ops

    _ops = Counter("bench_firestore_ops", "Firestore calls and documents seen by the counting shim", ["kind"])
    firestore_ops.install(lambda kind, n=1: _ops.labels(kind).inc(n))


@app.get("/bench/hello")
def hello():
    return {"hello": "world"}
