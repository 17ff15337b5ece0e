"""How long a release takes to reach a worker that answers sold out from memory, against reading the verdict.

    .venv/bin/python bench/verdict_wake.py [--releases 50]

Starts the Firestore emulator, and in this process follows --releases sold-out
verdicts (``app.inventory.soldout``), one pool at a time. For each, once its
listener has confirmed the verdict, another writer stamps a release (a commit
this process's own releases would not make: they drop the verdict at once),
and the benchmark polls until the followed verdict is void. Side by side it
times what answering without the memory costs every late buyer: the read of
the verdict and its release stamps. The "moment" in which a worker still
answers ``sold_out`` after a release elsewhere is the wake time. Results go to
stdout and to the "Sold-out verdict wake" section of bench/RESULTS.md.
"""
import argparse
import time

from harness import emulators, make_app, quantiles_ms, write_section

POLL_SECONDS = 0.001


def wake_once(index):
    """(seconds from the release's commit to the verdict void, seconds of one verdict read)."""
    from google.cloud import firestore

    from app.firebase import db
    from app.inventory import soldout
    from app.inventory.units import FOREVER
    from app.timeutil import utcnow

    pool_id = f"bench-wake-{index}"
    soldout.verdict_ref(pool_id).set({"pool": pool_id, "sold_out_at": utcnow(), "until": FOREVER})
    refs = [soldout.verdict_ref(pool_id)] + [soldout.release_ref(pool_id, shard)
                                             for shard in range(soldout.RELEASE_SHARDS)]
    read_started = time.monotonic()
    list(db().get_all(refs))
    read = time.monotonic() - read_started
    assert soldout.stands(pool_id, utcnow())  # which starts following the verdict
    while not soldout.FOLLOWED.stands(pool_id, utcnow()):
        time.sleep(POLL_SECONDS)
    db().collection(soldout.RELEASES).document(f"{pool_id}-elsewhere").set(
        {"pool": pool_id, "released_at": firestore.SERVER_TIMESTAMP})
    committed = time.monotonic()
    while soldout.FOLLOWED.stands(pool_id, utcnow()):
        time.sleep(POLL_SECONDS)
    return time.monotonic() - committed, read


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=50)
    args = parser.parse_args()
    with emulators("bench-verdict-wake-") as (_, _redis, log_dir):
        app = make_app(log_dir)
        with app.app_context():
            wake_once(-1)  # the channel and the first listener's set-up
            samples = [wake_once(index) for index in range(args.releases)]
    wake, read = quantiles_ms([w for w, _ in samples]), quantiles_ms([r for _, r in samples])
    body = "\n".join([
        f"Command: `.venv/bin/python bench/verdict_wake.py --releases {args.releases}`", "",
        "| | p50 ms | p99 ms |", "|---|---:|---:|",
        f"| a release elsewhere, from its commit to the followed verdict void | {wake[0]:.1f} | {wake[1]:.1f} |",
        f"| one read of the verdict and its 8 release stamps (what each late buyer costs without the memory) "
        f"| {read[0]:.1f} | {read[1]:.1f} |", "",
        f"Wake ÷ read at p50: **{wake[0] / read[0]:.2f}**. One process on an idle emulator; the release is "
        "written by this process's Firestore client as another worker's would be (a release made through this "
        "process's own services drops the verdict before it commits). Polling every "
        f"{POLL_SECONDS * 1000:.0f} ms adds up to that much to the wake time.",
    ])
    print("## Sold-out verdict wake\n\n" + body)
    write_section("Sold-out verdict wake", body)


if __name__ == "__main__":
    main()
