"""Demo data for local runs: ``flask --app run:app seed-demo`` (``make run`` calls it).

Safe to run again: existing users and records are kept and reported.
"""
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from app.auth import CurrentUser, Role
from app.checkout import holds
from app.concessions import menu, stands
from app.errors import AppError
from app.events import lifecycle, ticket_types
from app.events import service as events
from app.firebase import UserNotFoundError, get_firebase
from app.orders import refunds, settlement
from app.orders import service as orders
from app.orders.records import OrderState
from app.parking import lots
from app.payouts import rules as split_rules
from app.timeutil import utcnow
from app.users import service as users
from app.venues import service as venues

DEMO_USERS = [
    (Role.ADMIN, "admin@boxoffice.test", "admin-pass-123", "Ada Admin"),
    (Role.ORGANIZER, "organizer@boxoffice.test", "organizer-pass-123", "Olga Organizer"),
    (Role.STAFF, "staff@boxoffice.test", "staff-pass-123", "Sam Staff"),
    (Role.CUSTOMER, "customer@boxoffice.test", "customer-pass-123", "Cleo Customer"),
]


def seed_users():
    firebase = get_firebase()
    uids = {}
    for role, email, password, name in DEMO_USERS:
        try:
            account = firebase.get_user_by_email(email)
        except UserNotFoundError:
            account = firebase.create_user(email=email, password=password, display_name=name,
                                           email_verified=True)
        if (account.custom_claims or {}).get("role") != role:
            users.set_role(account.uid, role)
        uids[role] = account.uid
    return uids


DEMO_VENUE_ID = "demo-boxoffice-hall"
DEMO_EVENT_ID = "demo-opening-night"
DEMO_SEAT_MAP = {"sections": [
    {"id": "stalls", "name": "Stalls",
     "rows": [{"label": row, "seats": [str(n) for n in range(1, 11)]} for row in "ABC"]},
]}
DEMO_TICKET_TYPES = [
    dict(ticket_type_id="general", name="General admission", price=2500, currency="EUR",
         kind="general_admission", capacity=200),
    dict(ticket_type_id="stalls", name="Stalls seat", price=4500, currency="EUR", kind="seated",
         sections=["stalls"]),
]


def _create_unless_exists(create, *args, **kwargs):
    try:
        create(*args, **kwargs)
    except AppError as exc:
        if exc.code != "already_exists":
            raise


def seed_catalog(uids):
    """Boxoffice Hall (with the demo staff user) and a published event by the demo organizer."""
    organizer = CurrentUser(uid=uids[Role.ORGANIZER], email=None, role=Role.ORGANIZER)
    _create_unless_exists(venues.create_venue, organizer, venue_id=DEMO_VENUE_ID, name="Boxoffice Hall",
                          address="1 Demo Street", city="Berlin", country="DE", capacity=300,
                          seat_map=DEMO_SEAT_MAP)
    venues.add_venue_staff(DEMO_VENUE_ID, organizer, uids[Role.STAFF])
    starts = (utcnow() + timedelta(days=30)).replace(hour=18, minute=0, second=0, microsecond=0)
    _create_unless_exists(events.create_event, organizer, event_id=DEMO_EVENT_ID, venue_id=DEMO_VENUE_ID,
                          title="Opening Night", category="music", starts_at=starts,
                          ends_at=starts + timedelta(hours=3), timezone="Europe/Berlin",
                          description="The first night at Boxoffice Hall.")
    # A run that stopped half-way left a draft: finish it. A published event is left as it is.
    if events.get_event(DEMO_EVENT_ID, viewer=organizer)["status"] == events.EventStatus.DRAFT:
        for ticket_type in DEMO_TICKET_TYPES:
            _create_unless_exists(ticket_types.create_ticket_type, DEMO_EVENT_ID, organizer, **ticket_type)
        lifecycle.publish_event(DEMO_EVENT_ID, organizer)


# (key, lines, how many of its tickets are refunded): what the demo customer bought, for the dashboard, the
# lists and the exports. The keys make holds and orders idempotent, so a second run changes nothing.
DEMO_SALES = [
    ("general-pair", [{"kind": "ticket", "ticket_type_id": "general", "quantity": 2}], 0),
    ("general-trio", [{"kind": "ticket", "ticket_type_id": "general", "quantity": 3}], 1),
    ("stalls-seat", [{"kind": "ticket", "seats": ["stalls:A:5"]}], 0),
]


def seed_sales(uids):
    """The demo customer's paid orders at the box office, one of them partly refunded by the organizer."""
    organizer = CurrentUser(uid=uids[Role.ORGANIZER], email=None, role=Role.ORGANIZER)
    sold = 0
    for key, lines, refunded in DEMO_SALES:
        try:
            hold = holds.place_hold(DEMO_EVENT_ID, uids[Role.CUSTOMER], lines=lines, idempotency_key=f"demo-{key}")
            order = orders.create_order(uids[Role.CUSTOMER], hold_id=hold["id"], payment_method="manual",
                                        idempotency_key=f"demo-{key}")
            if order["state"] == OrderState.PENDING_PAYMENT:
                order = settlement.mark_paid(order["id"], organizer)
                tickets = [t["ticket_id"] for t in order["tickets"]][:refunded]
                if tickets:
                    refunds.refund_order(order["id"], organizer, ticket_ids=tickets, reason="Demo: could not come")
        except AppError as exc:
            # The demo event may be sold out or over by now; the catalogue is still there to try things on.
            click.echo(f"Demo sale {key} skipped: {exc.message}")
            continue
        sold += 1
    return sold


DEMO_STANDS = [
    dict(stand_id="demo-kitchen", name="Hall Kitchen", kind="food", currency="EUR", location="Foyer, left",
         delivers_to_seats=True, service_fee=50),
    dict(stand_id="demo-merch", name="Hall Merch", kind="merchandise", currency="EUR", location="Foyer, right",
         takes_tips=False),
]
DEMO_ITEMS = {
    "demo-kitchen": [
        dict(item_id="burger", name="Burger", price=850, tax_category="food", option_groups=[
            dict(id="sauce", name="Sauce", required=True,
                 options=[dict(id="ketchup", name="Ketchup"), dict(id="mayo", name="Mayonnaise")]),
            dict(id="extras", name="Extras", required=False, max_choices=2,
                 options=[dict(id="cheese", name="Extra cheese", price_delta=100),
                          dict(id="no-onions", name="No onions")])]),
        dict(item_id="fries", name="Fries", price=350, tax_category="food",
             variants=[dict(id="small", name="Small"), dict(id="large", name="Large", price_delta=150)]),
        dict(item_id="beer", name="Beer", price=500, tax_category="drinks", age_restricted=True),
    ],
    "demo-merch": [dict(item_id="scarf", name="Club scarf", price=1500, tax_category="merchandise", stock=50)],
}
DEMO_TAX_RATES = {"food": {"basis_points": 700, "inclusive": False},
                  "drinks": {"basis_points": 1900, "inclusive": False},
                  "merchandise": {"basis_points": 1900, "inclusive": True}}


def seed_concessions(uids):
    """A kitchen that delivers to seats and a merchandise stand at Boxoffice Hall, open for the opening night and
    worked by the demo staff user, with the venue's tax rates for what they sell."""
    organizer = CurrentUser(uid=uids[Role.ORGANIZER], email=None, role=Role.ORGANIZER)
    rates = venues.get_venue(DEMO_VENUE_ID).get("tax_rates") or {}
    if any(category not in rates for category in DEMO_TAX_RATES):
        venues.update_venue(DEMO_VENUE_ID, organizer, tax_rates={**DEMO_TAX_RATES, **rates})
    for stand in DEMO_STANDS:
        _create_unless_exists(stands.create_stand, DEMO_VENUE_ID, organizer, event_ids=[DEMO_EVENT_ID], **stand)
        stands.add_stand_staff(stand["stand_id"], organizer, uids[Role.STAFF])
        for item in DEMO_ITEMS[stand["stand_id"]]:
            _create_unless_exists(menu.create_item, stand["stand_id"], organizer, **item)


DEMO_LOT = dict(name="Hall car park", geo={"lat": 52.5208, "lng": 13.4095}, timezone="Europe/Berlin",
                zones=[{"id": "P1", "name": "Deck 1", "kind": "standard", "count": 40},
                       {"id": "EV", "name": "Chargers", "kind": "ev", "count": 4}],
                spaces=[{"id": "A1", "kind": "accessible"}, {"id": "A2", "kind": "accessible"}],
                opening_hours={"opens": "06:00", "closes": "02:00"},
                pricing={"currency": "EUR", "hourly": {"standard": 300, "ev": 450, "accessible": 200},
                         "event_flat": {"standard": 1500}, "daily_cap": 2500,
                         "occupancy_bands": [{"from_percent": 60, "multiplier_bp": 12500},
                                             {"from_percent": 85, "multiplier_bp": 15000}],
                         "event_window_minutes": 120, "event_multiplier_bp": 15000, "floor_bp": 10000,
                         "ceiling_bp": 20000})


def seed_parking(uids):
    """One car park at Boxoffice Hall, unless the venue has a lot already."""
    organizer = CurrentUser(uid=uids[Role.ORGANIZER], email=None, role=Role.ORGANIZER)
    if not lots.list_lots(DEMO_VENUE_ID, viewer=organizer, limit=1)["items"]:
        lots.create_lot(DEMO_VENUE_ID, organizer, **DEMO_LOT)


def seed_split_rules(uids):
    """The demo event's tickets: 5% + 0.30 a ticket to the platform, the rest 90/10 to organizer and venue."""
    admin = CurrentUser(uid=uids[Role.ADMIN], email=None, role=Role.ADMIN)
    if not split_rules.list_rules(event_id=DEMO_EVENT_ID, kind="ticket", limit=1)["items"]:
        split_rules.save_rule(admin, kind="ticket", event_id=DEMO_EVENT_ID, fee_basis_points=500, fee_fixed=30,
                              shares=[{"party": "organizer", "basis_points": 9000},
                                      {"party": "venue", "basis_points": 1000}])


def seed_demo():
    uids = seed_users()
    seed_catalog(uids)
    seed_concessions(uids)
    seed_parking(uids)
    seed_split_rules(uids)
    seed_sales(uids)
    return uids


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create demo users, a venue and a published event on the emulated Firebase; refuses a real project."""
    config = current_app.config
    if not (config["FIRESTORE_EMULATOR_HOST"] and config["FIREBASE_AUTH_EMULATOR_HOST"]):
        # The demo users have published passwords, one of them an admin's.
        raise click.ClickException("seed-demo runs only against the Firestore and Auth emulators: set "
                                   "FIRESTORE_EMULATOR_HOST and FIREBASE_AUTH_EMULATOR_HOST")
    seed_demo()
    click.echo(f"Demo venue {DEMO_VENUE_ID} with a car park, and published event {DEMO_EVENT_ID}.")
    click.echo(f"Demo stands {', '.join(s['stand_id'] for s in DEMO_STANDS)}, open for {DEMO_EVENT_ID}.")
    click.echo("Demo users (e-mail / password):")
    for role, email, password, _ in DEMO_USERS:
        click.echo(f"  {role:<10} {email:<28} {password}")
