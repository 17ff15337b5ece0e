from flask import Response, g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import roles_required
from app.checkout import kinds
from app.payouts import accounts, booking, ledger, reports, rules, transfers
from app.payouts.schemas import (AccountIn, AccountOut, LedgerPage, LedgerQuery, OnboardingLinkIn, OnboardingLinkOut,
                                 ReportOut, ReportQuery, RuleIn, RuleOut, RulePage, RuleQuery, SplitsOut, TransferOut,
                                 TransferPage, TransferQuery)

blp = Blueprint("payouts", __name__, url_prefix="/api/v1",
                description="Payment splits, connected accounts, the ledger and payout reports")

PARTIES = ("organizer", "admin")


@blp.route("/payouts/parties/<party_id>/account", methods=["PUT"])
@roles_required(*PARTIES)
@blp.arguments(AccountIn)
@blp.response(200, AccountOut)
def open_account(data, party_id):
    """Open the party's Stripe Connect account (once; again returns it): the venue's owner, the organizer, admins

    party_id is venue:<venue id> or organizer:<uid>.
    """
    return accounts.open_account(party_id, g.user, account_type=data["type"], country=data.get("country"))


@blp.route("/payouts/parties/<party_id>/account", methods=["GET"])
@roles_required(*PARTIES)
@blp.response(200, AccountOut)
def get_account(party_id):
    """The party's connected account and whether it can receive money (status none before it is opened)"""
    return accounts.get_account(party_id, g.user)


@blp.route("/payouts/parties/<party_id>/onboarding-link", methods=["POST"])
@roles_required(*PARTIES)
@blp.arguments(OnboardingLinkIn)
@blp.response(201, OnboardingLinkOut)
def create_onboarding_link(data, party_id):
    """A single-use link to Stripe's hosted onboarding of the party's account"""
    return accounts.onboarding_link(party_id, g.user, **data)


@blp.route("/payouts/split-rules", methods=["GET"])
@roles_required("admin")
@blp.arguments(RuleQuery, location="query", unknown=RAISE)
@blp.response(200, RulePage)
def list_split_rules(args):
    """Stored split rules, current versions (admin)"""
    return rules.list_rules(**args)


@blp.route("/payouts/split-rules", methods=["POST"])
@roles_required("admin")
@blp.arguments(RuleIn)
@blp.response(201, RuleOut)
def save_split_rule(data):
    """Set the split of a kind's lines for an event, a venue or the platform: a new version (admin)"""
    return rules.save_rule(g.user, **data)


@blp.route("/payouts/split-rules/<rule_id>", methods=["DELETE"])
@roles_required("admin")
@blp.response(204)
def delete_split_rule(rule_id):
    """Retire a split rule; the next less specific one applies to orders paid from now on (admin)"""
    rules.delete_rule(g.user, rule_id)


@blp.route("/events/<event_id>/split-rules", methods=["GET"])
@roles_required(*PARTIES)
@blp.response(200, RuleOut(many=True))
def get_event_split_rules(event_id):
    """The rule each kind of line of the event is split by now: its organizer, its venue's owner, admins"""
    return rules.effective_rules(event_id, g.user, sorted(kinds.registered()))


@blp.route("/payouts/orders/<order_id>/splits", methods=["GET"])
@roles_required(*PARTIES)
@blp.response(200, SplitsOut)
def get_order_splits(order_id):
    """Who gets what of a paid order, unit by unit, with the rule versions used: its parties, admins"""
    return booking.get_splits(order_id, g.user)


@blp.route("/payouts/ledger", methods=["GET"])
@roles_required(*PARTIES)
@blp.arguments(LedgerQuery, location="query", unknown=RAISE)
@blp.response(200, LedgerPage)
def list_ledger(args):
    """Ledger entries, oldest first: a party's own (party_id; an organizer's by default), admins any or all"""
    return ledger.list_for(g.user, **args)


@blp.route("/payouts/reports", methods=["GET"])
@roles_required(*PARTIES)
@blp.arguments(ReportQuery, location="query", unknown=RAISE)
@blp.response(200, ReportOut)
def get_reports(args):
    """Gross, fees, refunds, net, paid out and pending per party and currency over a period: your own; admins all"""
    return reports.get_reports(g.user, **args)


@blp.route("/payouts/reports.csv", methods=["GET"])
@roles_required(*PARTIES)
@blp.arguments(ReportQuery, location="query", unknown=RAISE)
@blp.response(200, content_type="text/csv")
def export_reports(args):
    """The same report as CSV, amounts in minor units"""
    return Response(reports.reports_csv(g.user, **args), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="payouts.csv"'})


@blp.route("/admin/payouts/transfers", methods=["GET"])
@roles_required("admin")
@blp.arguments(TransferQuery, location="query", unknown=RAISE)
@blp.response(200, TransferPage)
def list_transfers(args):
    """Transfers and reversals by state, newest first: held, frozen, failed and parked ones (admin)"""
    return transfers.list_transfers(**args)


@blp.route("/admin/payouts/transfers/<transfer_id>/retry", methods=["POST"])
@roles_required("admin")
@blp.response(200, TransferOut)
def retry_transfer(transfer_id):
    """Send a failed, parked or frozen transfer again (admin)"""
    return transfers.retry_transfer(transfer_id)
