from app.inventory.units import TakenHint, collided_document, unit_id
from app.timeutil import utcnow


def test_the_collided_document_is_read_from_firestores_and_the_emulators_messages():
    production = ("409 Document already exists: projects/p/databases/(default)/documents/inventory_units/"
                  "0a1b2c3d4e5f60718293a4b5")
    emulator = "409 entity already exists: EntityRef{partitionRef=dev~p, path=/holds/kAbC123}"
    assert collided_document(production) == ("inventory_units", "0a1b2c3d4e5f60718293a4b5")
    assert collided_document(emulator) == ("holds", "kAbC123")
    assert collided_document("409 something else") == (None, None)


def test_unit_ids_are_hashed_within_their_scope():
    assert unit_id("e/t1", 0) != unit_id("e/t2", 0)
    assert unit_id("e/seat", "stalls:A:1") != unit_id("f/seat", "stalls:A:1")
    ids = [unit_id("e/t", n) for n in range(10)]
    assert len(set(ids)) == 10 and all(len(i) == 24 for i in ids) and ids != sorted(ids)


def test_the_hint_forgets_units_whose_claims_expired_and_units_released_here():
    hint = TakenHint()
    now = utcnow()
    hint.mark("t", 0, now)  # a claim that expires now is free again
    hint.mark("t", 1, now.replace(year=now.year + 1))
    hint.mark("t", 2, now.replace(year=now.year + 1))
    hint.forget("t", [2])
    with hint.trying() as flight:
        assert sorted(hint.candidates("t", range(3), 3, now, flight)) == [0, 2]


def test_requests_of_one_process_pick_apart_and_share_only_when_nothing_else_is_free():
    hint, now = TakenHint(), utcnow()
    with hint.trying() as first, hint.trying() as second:
        a = hint.candidates("t", range(4), 2, now, first)
        b = hint.candidates("t", range(4), 2, now, second)
        assert sorted(a + b) == [0, 1, 2, 3]
        with hint.trying() as third:
            assert hint.candidates("t", range(4), 1, now, third, scope="own") == []
            assert hint.candidates("t", range(4), 1, now, third)[0] in a + b
    with hint.trying() as fourth:
        assert len(set(hint.candidates("t", range(4), 4, now, fourth))) == 4


def test_a_lane_offers_its_own_units_then_those_a_probe_saw_free_and_probes_the_rest():
    even, odd, now = TakenHint(), TakenHint(), utcnow()
    even.set_lane(0, 2)
    odd.set_lane(1, 2)
    with even.trying() as a, odd.trying() as b:
        assert sorted(even.candidates("t", range(10), 5, now, a)) == [0, 2, 4, 6, 8]
        assert sorted(odd.candidates("t", range(10), 5, now, b)) == [1, 3, 5, 7, 9]
    even.seen_free("t", [3])
    with even.trying() as flight:
        assert sorted(even.candidates("t", range(10), 6, now, flight, scope="own")) == [0, 2, 3, 4, 6, 8]
        assert sorted(even.candidates("t", range(10), 9, now, flight, scope="others")) == [1, 5, 7, 9]
    with even.trying() as flight:
        picks = even.candidates("t", range(10), 7, now, flight)
    assert {0, 2, 3, 4, 6, 8} < set(picks) and len(set(picks)) == 7


def test_the_hint_remembers_only_the_pools_it_used_last():
    hint, now = TakenHint(max_pools=2), utcnow()
    later = now.replace(year=now.year + 1)
    for ticket_type in ("t1", "t2", "t3"):
        hint.mark(ticket_type, 0, later)
    with hint.trying() as flight:
        assert hint.candidates("t1", range(1), 1, now, flight) == [0]
        assert hint.candidates("t3", range(1), 1, now, flight, scope="own") == []


def test_a_belief_that_a_pool_is_sold_out_goes_with_a_fresh_read_or_a_release_here():
    hint = TakenHint()
    hint.believe_sold_out("t")
    assert hint.believes_sold_out("t") and not hint.believes_sold_out("u")
    hint.replace("t", {})
    assert not hint.believes_sold_out("t")
    hint.believe_sold_out("t")
    hint.forget("t", [0])
    assert not hint.believes_sold_out("t")
