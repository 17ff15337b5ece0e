"""Read-path benchmark: what caching and authentication cost, side by side on one gunicorn.

    .venv/bin/python bench/read_path.py [--seconds 4] [--rounds 3] [--threads 8] [--cache redis|simple]

Starts the Firestore and Auth emulators (and Redis for the shared cache), seeds
the demo event, serves bench.wsgi:app under gunicorn with 2 workers on
loopback, then measures in interleaved rounds:
- cached GET /api/v1/events/<id> against a bare hello endpoint of the same app;
- the same GET with a valid Bearer token against it without one, so that
  verifying the (cached) token is the only difference;
- GET /api/v1/auth/me, for reference (it reads the profile from Firestore).
Results go to stdout and to the "Read path" section of bench/RESULTS.md.
"""
import argparse
import http.client
import os
import statistics
import sys
import threading
import time

import requests

from harness import emulators, make_app, served, write_section

MAX_REQUESTS = 200_000
TARGETS = {"cached event / hello": 0.5, "authenticated / anonymous": 0.8}


def hammer(port, path, headers, seconds, threads):
    """Requests per second and latency quantiles (ms) of `threads` keep-alive clients for `seconds`."""
    latencies, failures, lock = [], [], threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.perf_counter() < deadline and len(mine) < MAX_REQUESTS // threads:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures.append(response.status)
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{path}: {len(failures)} requests failed, e.g. HTTP {failures[0]}")
    quantiles = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / elapsed, "p50": quantiles[49] * 1000, "p99": quantiles[98] * 1000,
            "count": len(latencies)}


def seed(stack, log_dir):
    from app.seed import DEMO_EVENT_ID, seed_demo

    app = make_app(log_dir)
    with app.app_context():
        seed_demo()
    session = requests.post(
        f"http://{stack.auth_host}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword",
        params={"key": "bench"}, timeout=10,
        json={"email": "customer@boxoffice.test", "password": "customer-pass-123", "returnSecureToken": True})
    session.raise_for_status()
    return DEMO_EVENT_ID, session.json()["idToken"]


def measure(port, event_id, token, args):
    bearer = {"Authorization": f"Bearer {token}"}
    scenarios = {
        "hello": ("/bench/hello", {}),
        "cached event": (f"/api/v1/events/{event_id}", {}),
        "cached event, authenticated": (f"/api/v1/events/{event_id}", bearer),
        "auth/me (Firestore read)": ("/api/v1/auth/me", bearer),
    }
    for path, headers in scenarios.values():
        hammer(port, path, headers, 0.5, args.threads)
    runs = {name: [] for name in scenarios}
    for _ in range(args.rounds):
        for name, (path, headers) in scenarios.items():
            runs[name].append(hammer(port, path, headers, args.seconds, args.threads))
    return {name: {key: statistics.median(r[key] for r in results) for key in results[0]}
            for name, results in runs.items()}


def report(results, args, cache):
    ratios = {
        "cached event / hello": results["cached event"]["rps"] / results["hello"]["rps"],
        "authenticated / anonymous": results["cached event, authenticated"]["rps"] / results["cached event"]["rps"],
    }
    lines = [
        "## Read path", "",
        f"Command: `.venv/bin/python bench/read_path.py --seconds {args.seconds:g} --rounds {args.rounds} "
        f"--threads {args.threads} --cache {cache}`", "",
        f"gunicorn, 2 gthread workers, cache {cache}, {os.cpu_count()} CPUs shared with the client "
        f"({args.threads} keep-alive http.client threads on loopback); medians of {args.rounds} interleaved "
        f"rounds of {args.seconds:g} s.", "",
        "| request | req/s | p50 ms | p99 ms |", "|---|---:|---:|---:|",
        *(f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} |" for name, r in results.items()),
        "", "| ratio | measured | target |", "|---|---:|---:|",
        *(f"| {name} | {value:.2f} | ≥ {TARGETS[name]} |" for name, value in ratios.items()),
        "",
    ]
    section = "\n".join(lines)
    print(section)
    write_section("Read path", section.split("\n", 2)[2])
    return all(ratios[name] >= target for name, target in TARGETS.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--cache", choices=("redis", "simple"), default="redis",
                        help="redis: shared cache, as several workers need; simple: per-worker memory")
    args = parser.parse_args()
    with emulators("bench-read-path-", redis=args.cache == "redis") as (stack, redis_url, log_dir):
        event_id, token = seed(stack, log_dir)
        with served(stack, log_dir, redis_url=redis_url) as server:
            results = measure(server.port, event_id, token, args)
    met = report(results, args, args.cache)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
