"""The real app plus a bare hello endpoint, served by gunicorn for the benchmarks only.

With BENCH_COUNT_FIRESTORE set, every worker counts its Firestore calls and
the units its holds found taken (bench/firestore_ops.py), and with
BENCH_CPU_PARTS the CPU its threads spend in each part of a hold
(bench/cpu_parts.py); both hand them every 0.1 s to Prometheus counters that
/api/v1/metrics sums over the workers, so a benchmark can diff them around a
run.
"""
import os

from app import create_app

app = create_app()

if os.environ.get("BENCH_COUNT_FIRESTORE"):
    from prometheus_client import Counter

    from bench import firestore_ops

    tally = firestore_ops.install_in_worker(
        Counter("bench_firestore_ops", "Firestore calls and documents seen by the counting shim", ["kind"]))
    firestore_ops.count_collisions(tally)

if os.environ.get("BENCH_CPU_PARTS"):
    from prometheus_client import Counter

    from bench import cpu_parts

    cpu_parts.install_in_worker(app, Counter("bench_cpu_seconds", "CPU of each part of a hold", ["part"]))


@app.get("/bench/hello")
def hello():
    return {"hello": "world"}
