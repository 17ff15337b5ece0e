"""The "Flash crowd" section of bench/RESULTS.md, from bench/flash_crowd.py's results."""
import os
import statistics

from firestore_ops import reads, rpcs
from harness import write_section

METHOD = """\
How it was measured:
- Each buyer is a thread with its own connection, released with the others by a barrier, POSTing
  one hold of quantity 1 with its own ID token (shaped as the Auth emulator issues them, minted by the
  benchmark: a hold never looks its account up). A worker verifies a token the first time it sees it,
  so mostly in the sell-out, which runs first; the rounds reuse the same buyers. The late buyers of the
  sell-out are released the moment the last unit is held. Latency runs from the release to the
  response, so for ours it includes waiting for one of gunicorn's threads; a loop's latency is one
  buyer's work, without a queue.
- holds/s: successful holds over the time from the release to the last successful answer.
- Firestore operations: bench/firestore_ops.py wraps the client library's generated RPC methods in
  each gunicorn worker and in each loop process, counting into an in-process tally (a worker hands
  its tally every 0.1 s to a Prometheus counter that /api/v1/metrics sums over the workers). It counts
  calls (a call the library retries internally once, every attempt of a transaction), documents a get
  asked for (found or missing: both are billed reads), documents a query returned, and writes per
  commit. The benchmark's own set-up and audit reads are not counted.
- Oversold: after each run, live claims and active holds read from Firestore against the capacity,
  and claims that belong to no active hold or to no unit of the ticket type; for buckets, units taken
  from the counters against hold documents.
- Refused while units were free: no unit is released during a run, so when fewer buyers got a unit
  than min(capacity, buyers) every refusal was one; otherwise a refusal that came back before another
  buyer's successful request had started. False sold-outs are those answered 409 sold_out, the rest
  503 busy (retries used up).
- CPU: the kernel's accounting (/proc) of the gunicorn workers, the client process, the loop
  processes and the Firestore emulator over each run. CPU by part: bench/cpu_parts.py adds, in each
  worker, the CPU time of the calling thread (time.thread_time) spent in each part, inclusive; the
  worker's CPU outside requests is its process CPU minus the requests'.
- Order: warm-up, the sell-out, the rounds, the buckets. The emulator answers a count query by scanning
  the whole collection, not an index (measured once by hand: 19 ms of emulator CPU per count of 500
  live claims among no others, 91 ms among 10,000 others), so the sell-out's sold-out answers come
  first, before each round adds 2,000 claims. Firestore itself counts from the index, in proportion to
  the matching claims.
- App settings: HOLD_TTL_SECONDS=600 (nothing expires during a run), MAX_ACTIVE_HOLDS_PER_EVENT=3,
  rate limits off, LOG_LEVEL=WARNING, no live feed (no FIREBASE_DATABASE_URL), no Idempotency-Key."""


PARTS = (("request", "the WSGI request (all below but 'outside requests')"),
         ("token", "  ID-token check"), ("hooks", "  before/after-request hooks (request id, logging, metrics, "
                                                "security headers, JSON body check)"),
         ("framework", "  Flask and flask-smorest: routing, parsing the body, dumping the answer"),
         ("service", "  place_hold"), ("firestore", "    Firestore client calls"),
         ("readcache", "    catalogue reads from the cache (Redis)"), ("service logic", "    the rest of the service"),
         ("outside requests", "outside requests: gunicorn's HTTP, gRPC's threads"))


def _median(runs, key):
    return statistics.median(r[key] for r in runs)


def _ms(value):
    return "–" if value is None else f"{value:.0f}"


def _refusals(result):
    return ", ".join(f"{n} {code}" for code, n in sorted(result["refused"].items())) or "0"


def _row(name, runs, cpu_keys, note=""):
    cpu = " + ".join(f"{statistics.median(r['cpu'][k] / max(r['ok'], 1) for r in runs) * 1000:.1f}"
                     for k in cpu_keys)
    commits = statistics.median(r["ops"].get("rpc:commit", 0) / max(r["ok"], 1) for r in runs)
    return (f"| {name} | {_median(runs, 'holds_per_s'):.1f} | {_ms(_median(runs, 'p50'))} | "
            f"{_ms(_median(runs, 'p99'))} | {_median(runs, 'rpcs_per_hold'):.2f} | {commits:.2f} | "
            f"{_median(runs, 'reads_per_hold'):.2f} | {_median(runs, 'writes_per_hold'):.2f} | {cpu} | "
            f"{max(r['audit']['oversold'] for r in runs)} | {max(r['refused_while_free'] for r in runs)}{note} |")


def report(results, args, target):
    ours, raw, sellout, buckets = results["ours"], results["raw"], results["sellout"], results["buckets"]
    transaction, service, late = results["transaction"], results["service"], results["late_buyer"]
    burst = results["late_burst"]
    cpu = {name: statistics.median(sum(r["cpu"].values()) / r["ok"] for r in runs) * 1000
           for name, runs in (("ours", ours), ("service", service), ("raw", raw), ("transaction", transaction))}
    ratio, ceiling = statistics.median(results["ratios"]), statistics.median(results["ceiling_ratios"])
    service_ratio = statistics.median(results["service_ratios"])
    lines = [
        f"Command: `.venv/bin/python bench/flash_crowd.py --capacity {args.capacity} --buyers {args.buyers} "
        f"--threads {args.threads} --rounds {args.rounds} --bucket-seconds {args.bucket_seconds:g} "
        f"--cache {args.cache}` (the whole run, set-up included: {results['seconds']:.0f} s)", "",
        f"{os.cpu_count()} CPUs shared by everything in the run: the Firestore and Auth emulators, Redis, gunicorn "
        f"({args.workers} gthread workers × {args.threads} threads), the client (one thread per buyer, loopback), "
        f"the raw loops ({args.workers} processes × {args.threads} threads), and whatever else the machine ran "
        f"(1-minute load average {results['load'][0]:.1f} at the start, {results['load'][1]:.1f} at the end).", "",
        f"### {args.capacity} buyers at once for {args.capacity} units (median of {args.rounds} rounds; "
        f"buckets: one run each, at most {args.bucket_seconds:g} s)", "",
        "| design | holds/s | p50 ms | p99 ms | Firestore RPCs / hold | commits / hold | docs read / hold | "
        "writes / hold | CPU ms / hold | oversold | refused while units were free |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _row("ours: `POST /events/<id>/holds`, gunicorn", ours, ("app", "client", "emulator")),
        _row("ours without HTTP: `place_hold()` in-process, each process in its own lane", service,
             ("loop", "emulator")),
        _row("raw transaction loop: one hold's reads and writes in a transaction, units dealt out, no HTTP",
             transaction, ("loop", "emulator")),
        _row("raw batch loop: one hold's RPCs exactly, units dealt out (no collisions), no HTTP", raw,
             ("loop", "emulator")),
        *(_row(f"stock buckets, N = {n} (raw transactions)", [r], ("loop", "emulator"),
               f" ({r['unserved']} not served in {args.bucket_seconds:g} s)") for n, r in buckets.items()),
        "",
        "CPU ms / hold: ours = gunicorn workers + client + emulator; the loops = loop processes + emulator. "
        "Commits / hold above 1 are commits that failed (a unit another buyer took first, or an aborted "
        "transaction) and were retried.",
        "Refused buyers by answer in each round of ours: "
        + "; ".join(_refusals(r) for r in ours) + ".", "",
        f"Ratio of our endpoint's holds/s to the raw transaction loop's, per round: "
        f"{', '.join(f'{x:.2f}' for x in results['ratios'])}; median **{ratio:.2f}** (target ≥ {target}: "
        f"{'met' if ratio >= target else 'missed'}). To the raw batch loop's, the ceiling: "
        f"{', '.join(f'{x:.2f}' for x in results['ceiling_ratios'])}; median **{ceiling:.2f}**. Our hold service "
        f"without HTTP to the raw transaction loop: {', '.join(f'{x:.2f}' for x in results['service_ratios'])}; "
        f"median **{service_ratio:.2f}**.", "",
        f"CPU per successful hold over all the run's processes: ours {cpu['ours']:.1f} ms, ours without HTTP "
        f"{cpu['service']:.1f} ms, raw transaction loop "
        f"{cpu['transaction']:.1f} ms, raw batch loop {cpu['raw']:.1f} ms; with every CPU busy, throughput follows "
        f"it. Ours sent {_median(ours, 'rpcs_per_hold'):.2f} RPCs per hold, the transaction loop "
        f"{_median(transaction, 'rpcs_per_hold'):.2f}, the batch loop {_median(raw, 'rpcs_per_hold'):.2f}.", "",
        "Worker CPU ms per hold by part, ours (median of the rounds):", "",
        "| part | CPU ms / hold |", "|---|---:|",
        *(f"| {label} | {statistics.median(r['parts'][key] for r in ours):.2f} |" for key, label in PARTS), "",
        f"### Sell-out: {sellout['buyers']} buyers at once for {args.capacity} units", "",
        "| holds | refused | holds/s until sold out | last answer after | hold p50 / p99 ms | "
        "sold-out answer p50 / p99 ms | RPCs / request | docs read / request | oversold | false sold-outs | "
        "refused while units were free | remaining afterwards (availability endpoint) | "
        "CPU s: app + client + emulator |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {sellout['ok']} | {_refusals(sellout)} | {sellout['holds_per_s']:.1f} | {sellout['makespan']:.1f} s | "
        f"{_ms(sellout['p50'])} / {_ms(sellout['p99'])} | {_ms(sellout['sold_out_p50'])} / "
        f"{_ms(sellout['sold_out_p99'])} | {rpcs(sellout['ops']) / sellout['buyers']:.2f} | "
        f"{reads(sellout['ops']) / sellout['buyers']:.1f} | {sellout['audit']['oversold']} | "
        f"{sellout['false_sold_outs']} | {sellout['refused_while_free']} | {sellout['remaining']} | "
        f"{sellout['cpu']['app']:.1f} + {sellout['cpu']['client']:.1f} + {sellout['cpu']['emulator']:.1f} |", "",
        *([f"{sellout['late']['buyers']} late buyers released the moment the last unit was held, while the crowd "
           f"was still being answered ({', '.join(sellout['late']['answers'])}): "
           f"p50 **{sellout['late']['p50']:.0f} ms**, p99 {sellout['late']['p99']:.0f} ms. "
           f"{sellout['late']['behind']} of the crowd's requests were still unanswered when they arrived. "
           f"The same {burst['buyers']} buyers again, at once on the server the crowd had left "
           f"({', '.join(burst['answers'])}): p50 **{burst['p50']:.0f} ms**, p99 {burst['p99']:.0f} ms.", ""]
          if sellout.get("late") else []),
        f"Five more buyers afterwards, one at a time on the idle server ({', '.join(late['answers'])}): "
        f"{late['ms']:.0f} ms each (median), {late['rpcs']:.1f} RPCs and {late['reads']:.0f} documents read per "
        "request.", "",
        METHOD,
    ]
    body = "\n".join(lines)
    print("## Flash crowd\n\n" + body)
    write_section("Flash crowd", body)
    runs = [*ours, sellout]
    return (ratio >= target and all(r["audit"]["oversold"] == 0 and r["audit"]["stray"] == 0 for r in runs)
            and all(r["refused_while_free"] == 0 for r in runs))
