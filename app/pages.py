"""What every back-office list takes and answers: a page size, a cursor, and on request a count of all matches.

Subclass ``PageOut`` with the list's ``items``; ``app.pagination.page_of`` builds the answer.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.fields import UtcDateTime
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT


class PageQuery(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=1000))
    with_total = fields.Boolean(load_default=False, metadata={
        "description": "Also count every match (one Firestore aggregation, one read per 1,000 matches)."})


class PageOut(Schema):
    next_cursor = fields.String(allow_none=True, required=True, metadata={
        "description": "Pass as cursor for the next page; null on the last page."})
    has_more = fields.Boolean(required=True, metadata={"description": "Whether there is a next page to read."})
    total = fields.Integer(allow_none=True, metadata={
        "description": "How many match in all, when with_total was asked and the list can count it; else null."})


class CreatedBetweenQuery(PageQuery):
    created_from = UtcDateTime(data_key="from", metadata={"description": "Created at or after."})
    created_to = UtcDateTime(data_key="to", metadata={"description": "Created before."})

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("created_from") and data.get("created_to") and data["created_to"] <= data["created_from"]:
            raise ValidationError("'to' must be later than 'from'.", "to")
