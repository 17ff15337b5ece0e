from app.inventory.units import TakenHint, collided_document, unit_id
from app.timeutil import utcnow


def test_the_collided_document_is_read_from_firestores_and_the_emulators_messages():
    production = ("409 Document already exists: projects/p/databases/(default)/documents/inventory_units/"
                  "0a1b2c3d4e5f60718293a4b5")
    emulator = "409 entity already exists: EntityRef{partitionRef=dev~p, path=/holds/kAbC123}"
    assert collided_document(production) == ("inventory_units", "0a1b2c3d4e5f60718293a4b5")
    assert collided_document(emulator) == ("holds", "kAbC123")
    assert collided_document("409 something else") == (None, None)


def test_unit_ids_are_hashed_per_ticket_type_and_seats_per_event():
    assert unit_id("e", "t1", 0) != unit_id("e", "t2", 0)
    assert unit_id("e", "t1", "stalls:A:1") == unit_id("e", "t2", "stalls:A:1")
    ids = [unit_id("e", "t", n) for n in range(10)]
    assert len(set(ids)) == 10 and all(len(i) == 24 for i in ids) and ids != sorted(ids)


def test_the_hint_forgets_units_whose_claims_expired_and_units_released_here():
    hint = TakenHint()
    now = utcnow()
    hint.mark("t", 0, now)  # a claim that expires now is free again
    hint.mark("t", 1, now.replace(year=now.year + 1))
    hint.mark("t", 2, now.replace(year=now.year + 1))
    hint.forget("t", [2])
    assert sorted(hint.candidates("t", range(3), 3, now)) == [0, 2]
