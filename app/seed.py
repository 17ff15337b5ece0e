"""Demo data for local runs: ``flask --app run:app seed-demo`` (``make run`` calls it).

Safe to run again: existing users and records are kept and reported.
"""
from datetime import timedelta

import click
from flask.cli import with_appcontext

from app.auth import CurrentUser, Role
from app.errors import AppError
from app.events import lifecycle, ticket_types
from app.events import service as events
from app.firebase import UserNotFoundError, get_firebase
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
    seed_split_rules(uids)
    return uids


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create demo users, a venue and a published event on the configured (emulated) Firebase."""
    seed_demo()
    click.echo(f"Demo venue {DEMO_VENUE_ID} and published event {DEMO_EVENT_ID}.")
    click.echo("Demo users (e-mail / password):")
    for role, email, password, _ in DEMO_USERS:
        click.echo(f"  {role:<10} {email:<28} {password}")
