from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.fields import UtcDateTime
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.payouts.accounts import ACCOUNT_TYPES
from app.payouts.rules import BASIS, DEFAULT_TIPS_TO, FEE_BASES
from app.payouts.transfers import TransferState

ID = validate.Length(min=1, max=64)
PARTY = validate.Length(min=1, max=80)
KIND = validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$", error="A kind's name: lowercase letters, digits and '_'.")
MINOR_UNITS = {"description": "Minor units of the currency (cents for EUR)."}
BASIS_POINTS = validate.Range(min=0, max=BASIS)
URL = validate.URL(schemes={"https", "http"}, require_tld=False)


class AccountIn(Schema):
    type = fields.String(load_default="express", validate=validate.OneOf(ACCOUNT_TYPES),
                         metadata={"description": "Stripe Connect account type: express (default) or standard."})
    country = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$"),
                            metadata={"description": "ISO 3166 country; Stripe's default is the platform's."})


class AccountOut(Schema):
    party_id = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "none (no account yet), onboarding, restricted (details given, not enabled) or enabled "
                       "(charges and payouts enabled: money is transferred)"})
    stripe_account_id = fields.String(allow_none=True)
    type = fields.String()
    charges_enabled = fields.Boolean()
    payouts_enabled = fields.Boolean()
    details_submitted = fields.Boolean()
    requirements_due = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OnboardingLinkIn(Schema):
    refresh_url = fields.String(required=True, validate=[validate.Length(max=2000), URL])
    return_url = fields.String(required=True, validate=[validate.Length(max=2000), URL])


class OnboardingLinkOut(Schema):
    party_id = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "Stripe's hosted onboarding; single use."})
    expires_at = fields.Integer(metadata={"description": "Unix time the link stops working."})


class ShareIn(Schema):
    party = fields.String(required=True, validate=PARTY, metadata={
        "description": "venue or organizer (the order's), or a party id: venue:<id>, organizer:<uid>"})
    basis_points = fields.Integer(required=True, strict=True, validate=BASIS_POINTS)


class RuleIn(Schema):
    kind = fields.String(required=True, validate=KIND, metadata={
        "description": "The line kind the rule splits (ticket, parking, concession, ...), registered or not."})
    venue_id = fields.String(validate=ID, metadata={"description": "For this venue's events; absent: platform-wide."})
    event_id = fields.String(validate=ID, metadata={"description": "For this event only."})
    fee_basis_points = fields.Integer(load_default=0, strict=True, validate=BASIS_POINTS,
                                      metadata={"description": "The platform's fee: percent in basis points."})
    fee_fixed = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=100_000_000),
                               metadata={"description": "Plus this per unit, in minor units."})
    fee_base = fields.String(load_default="price", validate=validate.OneOf(FEE_BASES), metadata={
        "description": "price: before tax, service fee and tip (default); all_but_tip: everything but the tip"})
    shares = fields.List(fields.Nested(ShareIn), required=True, validate=validate.Length(min=1, max=10),
                         metadata={"description": "The rest after the fee, in basis points adding up to 10000."})
    tips_to = fields.String(load_default=DEFAULT_TIPS_TO, validate=PARTY,
                            metadata={"description": "Who gets the tips: venue (default), organizer or a party id."})


class ShareOut(Schema):
    party = fields.String()
    basis_points = fields.Integer()


class RuleOut(Schema):
    id = fields.String(required=True)
    scope = fields.String(metadata={"description": "event, venue, platform or default (built in)"})
    venue_id = fields.String(allow_none=True)
    event_id = fields.String(allow_none=True)
    kind = fields.String(required=True)
    fee_basis_points = fields.Integer()
    fee_fixed = fields.Integer(metadata=MINOR_UNITS)
    fee_base = fields.String()
    shares = fields.List(fields.Nested(ShareOut))
    tips_to = fields.String()
    version = fields.Integer(metadata={"description": "Each change is a new version; orders keep theirs."})
    deleted = fields.Boolean()
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RuleQuery(Schema):
    venue_id = fields.String(validate=ID)
    event_id = fields.String(validate=ID)
    kind = fields.String(validate=KIND)
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class RulePage(Schema):
    items = fields.List(fields.Nested(RuleOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class UnitPartOut(Schema):
    party = fields.String()
    gross = fields.Integer(metadata={"description": "Its part of the units, the platform's fee included."})
    fee = fields.Integer(metadata={"description": "The platform's fee on its part."})
    tips = fields.Integer()


class PartyPartOut(UnitPartOut):
    net = fields.Integer(metadata={"description": "gross - fee + tips: what it is owed."})
    share_basis_points = fields.Integer(metadata={"description": "net as a share of the order's total."})
    balance = fields.Integer(metadata={"description": "What it holds of the order now, after refunds and disputes."})


class UnitSplitOut(Schema):
    key = fields.String()
    line_id = fields.String()
    kind = fields.String()
    amount = fields.Integer(metadata=MINOR_UNITS)
    platform_fee = fields.Integer(metadata=MINOR_UNITS)
    parts = fields.List(fields.Nested(UnitPartOut))


class SplitsOut(Schema):
    order_id = fields.String(required=True)
    event_id = fields.String()
    currency = fields.String()
    captured = fields.Integer(metadata={"description": "What the buyer paid; the parts add up to it."})
    method = fields.String()
    collected_by = fields.String(metadata={"description": "platform (Stripe: booked and transferred) or "
                                                          "box_office (manual: split, not transferred)"})
    platform_fee = fields.Integer(metadata=MINOR_UNITS)
    platform_share_basis_points = fields.Integer()
    platform_balance = fields.Integer(metadata={"description": "What the platform holds of the order's fees now."})
    parties = fields.List(fields.Nested(PartyPartOut))
    units = fields.List(fields.Nested(UnitSplitOut))
    rules = fields.List(fields.Nested(RuleOut), metadata={"description": "The rule versions the order used."})
    refunded_keys = fields.List(fields.String())
    dispute = fields.Dict(allow_none=True)
    created_at = fields.DateTime()


class LedgerQuery(Schema):
    party_id = fields.String(validate=PARTY, metadata={"description": "Whose entries; required unless admin."})
    order_id = fields.String(validate=ID)
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class LedgerEntryOut(Schema):
    id = fields.String(required=True)
    order_id = fields.String()
    event_id = fields.String()
    movement = fields.String(metadata={"description": "charge, platform_fee, transfer, refund, fee_refund, reversal, "
                                                      "dispute or dispute_won"})
    movement_id = fields.String()
    account = fields.String(metadata={"description": "buyer, held (on the platform), paid (transferred) or "
                                                     "platform (fees)"})
    party = fields.String()
    amount = fields.Integer(metadata={"description": "Signed minor units; a movement's entries add up to zero."})
    currency = fields.String()
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime()


class LedgerPage(Schema):
    items = fields.List(fields.Nested(LedgerEntryOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ReportQuery(Schema):
    party_id = fields.String(validate=PARTY, metadata={"description": "One party; absent: your own (admins: all)."})
    start = UtcDateTime(data_key="from", metadata={"description": "Movements at or after; default: all."})
    end = UtcDateTime(data_key="to", metadata={"description": "Movements before; default: now."})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("Must be after from.", "to")


class ReportRowOut(Schema):
    party_id = fields.String(required=True)
    currency = fields.String(required=True)
    gross = fields.Integer(metadata=MINOR_UNITS)
    fees = fields.Integer(metadata=MINOR_UNITS)
    refunds = fields.Integer(metadata=MINOR_UNITS)
    disputes = fields.Integer(metadata=MINOR_UNITS)
    net = fields.Integer(metadata=MINOR_UNITS)
    paid_out = fields.Integer(metadata=MINOR_UNITS)
    pending = fields.Integer(metadata={"description": "On the platform, not transferred yet."})
    waiting_for_account = fields.Integer(metadata={"description": "Held until the party's account can receive."})
    frozen = fields.Integer(metadata={"description": "Held back by a dispute."})
    account_status = fields.String(allow_none=True)


class ReportOut(Schema):
    start = fields.DateTime(data_key="from")
    end = fields.DateTime(data_key="to")
    items = fields.List(fields.Nested(ReportRowOut), required=True)


class TransferQuery(Schema):
    state = fields.String(validate=validate.OneOf([str(s) for s in TransferState]))
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))


class TransferOut(Schema):
    id = fields.String(required=True)
    type = fields.String(metadata={"description": "transfer or reversal"})
    order_id = fields.String()
    party = fields.String()
    amount = fields.Integer(metadata=MINOR_UNITS)
    currency = fields.String()
    state = fields.String(required=True, metadata={"description": ", ".join(str(s) for s in TransferState)})
    attempts = fields.Integer()
    due_at = fields.DateTime(allow_none=True)
    reference = fields.String(allow_none=True)
    destination = fields.String(allow_none=True)
    transfer_id = fields.String()
    transfer_group = fields.String()
    reversed = fields.Integer(metadata=MINOR_UNITS)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    settled_at = fields.DateTime(allow_none=True)


class TransferPage(Schema):
    items = fields.List(fields.Nested(TransferOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
