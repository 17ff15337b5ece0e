"""A stand's food and a ticket in one order split by the built-in rules: the ticket to the organizer, the food
and the whole tip to the venue that runs the stand, the platform's 5% on what was sold before tax, service fee and
tip, to the minor unit."""
from app.auth import Role


def test_food_and_its_tip_go_to_the_venue_and_the_ticket_to_the_organizer(make_bar, make_user):
    bar = make_bar()
    buyer, admin = make_user(), make_user(Role.ADMIN)
    order = bar.paid(buyer, bar.burger(2, options=["mayo", "cheese"]), bar.line("fries", variant_id="large"),
                     tickets=1, tip=200)
    assert order["total"] == 5418  # the worked price of README's Concessions section
    splits = bar.call("GET", f"/payouts/orders/{order['id']}/splits", admin, 200).json
    venue, organizer = f"venue:{bar.shop.sale.event['venue_id']}", f"organizer:{bar.owner.uid}"
    parties = {p["party"]: (p["gross"], p["fee"], p["tips"], p["net"], p["share_basis_points"])
               for p in splits["parties"]}
    # Fees: the ticket 5% of 25.00 = 1.25; each burger 5% of 9.50 = 0.475 -> 0.48; the fries 5% of 5.00 = 0.25.
    # The venue: 29.18 for the stand's units, of which 2.00 tip, less 1.21 of fees = 27.97.
    assert parties == {organizer: (2500, 125, 0, 2375, 4384), venue: (2718, 121, 200, 2797, 5162)}
    assert (splits["platform_fee"], splits["platform_share_basis_points"]) == (246, 454)
    assert 2375 + 2797 + 246 == splits["captured"] == order["total"]
    food = sorted((u["amount"], u["platform_fee"], u["parts"][0]["tips"]) for u in splits["units"]
                  if u["kind"] == "concession")
    assert food == [(628, 25, 43), (1144, 48, 78), (1146, 48, 79)]
