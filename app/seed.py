"""Demo data for local runs: ``flask --app run:app seed-demo`` (``make run`` calls it).

Safe to run again: existing users and records are kept and reported.
"""
import click
from flask.cli import with_appcontext

from app.auth import Role
from app.firebase import UserNotFoundError, get_firebase
from app.users import service as users

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


def seed_demo():
    uids = seed_users()
    return uids


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create demo users, a venue and a published event on the configured (emulated) Firebase."""
    seed_demo()
    click.echo("Demo users (e-mail / password):")
    for role, email, password, _ in DEMO_USERS:
        click.echo(f"  {role:<10} {email:<28} {password}")
