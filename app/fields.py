"""Marshmallow fields that the domains' schemas share."""
from marshmallow import fields

from app.timeutil import as_utc


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 time with an offset, loaded in UTC: every accepted time can be stored and compared."""

    default_error_messages = {"out_of_range": "The time must fall within the years 1 to 9999 in UTC."}

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return as_utc(moment)
        except ValueError:
            raise self.make_error("out_of_range") from None
