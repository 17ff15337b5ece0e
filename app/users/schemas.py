from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.auth import Role

EMAIL = dict(validate=validate.Length(max=254))


class RegisterIn(Schema):
    email = fields.Email(required=True, **EMAIL)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=6, max=128))
    display_name = fields.String(validate=validate.Length(min=1, max=100))


class LoginIn(Schema):
    email = fields.Email(required=True, **EMAIL)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=128))


class RefreshIn(Schema):
    refresh_token = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=4096))


class PasswordResetIn(Schema):
    email = fields.Email(required=True, **EMAIL)


class SessionOut(Schema):
    uid = fields.String(required=True)
    id_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds until the ID token expires."})


class ProfileOut(Schema):
    uid = fields.String(required=True)
    email = fields.String(allow_none=True)
    display_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    role = fields.String(required=True)
    email_verified = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ProfilePatch(Schema):
    display_name = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(allow_none=True, validate=validate.Regexp(
        r"^\+[1-9][0-9]{6,14}$", error="Use E.164 format, e.g. +4915112345678."))
    locale = fields.String(allow_none=True, validate=validate.Regexp(
        r"^[a-z]{2,3}(-[A-Z]{2})?$", error="Use a language tag such as en or de-AT."))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one of display_name, phone, locale.", "_schema")


class DeviceIn(Schema):
    token = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=4096))
    platform = fields.String(required=True, validate=validate.OneOf(["ios", "android", "web"]))


class DeviceOut(Schema):
    id = fields.String(required=True)
    platform = fields.String(required=True)
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime()


class RoleIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))


class RoleOut(Schema):
    uid = fields.String(required=True)
    role = fields.String(required=True)
    updated_at = fields.DateTime()
