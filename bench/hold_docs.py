"""One-unit holds written exactly as the checkout writes them, for the raw loops and the sweep's seed.

The documents come from the app's own functions (``hold_document``, ``slot_document``, ``claimed``), so a raw
loop writes what a hold writes, byte for byte in shape, and a seeded hold is one the sweep would meet.
"""


def one_unit_hold(event, ticket_type, buyer_uid, unit, *, slot, now, expires_at, hold_id=None):
    """[(ref, document)] of a hold of ``unit`` of a general-admission ticket type: hold, slot, claim."""
    from app.checkout import holds
    from app.firebase import db
    from app.inventory import claims, units
    from app.tickets.kind import ticket_line

    line = ticket_line(event, ticket_type, 1, None)
    claim_id = line.work.unit_id(unit)
    hold_id = hold_id or db().collection(holds.HOLDS).document().id
    request = [{"kind": "ticket", "ticket_type_id": ticket_type["id"], "quantity": 1}]
    hold = holds.hold_document(hold_id, event["id"], buyer_uid, [line], {claim_id: (0, ticket_type["id"], unit)},
                               tax_rates={}, slot_id=slot.id,
                               fingerprint=holds.request_fingerprint(event["id"], request), now=now,
                               expires_at=expires_at)
    return [(holds.hold_ref(hold_id), hold), (slot, holds.slot_document(hold, expires_at)),
            (units.unit_ref(claim_id), claims.claimed(hold, ticket_type["id"], unit, expires_at, now))]
