from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.auth import Role

EMAIL = dict(validate=validate.Length(max=254))
E164 = r"^\+[1-9][0-9]{6,14}$"


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
    phone = fields.String(allow_none=True, metadata={"description": "The verified phone number (E.164), if any."})
    locale = fields.String(allow_none=True)
    role = fields.String(required=True)
    email_verified = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ProfilePatch(Schema):
    display_name = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    locale = fields.String(allow_none=True, validate=validate.Regexp(
        r"^[a-z]{2,3}(-[A-Z]{2})?$", error="Use a language tag such as en or de-AT."))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one of display_name, locale.", "_schema")


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


class PhoneIn(Schema):
    phone = fields.String(required=True, validate=validate.Regexp(
        E164, error="Use E.164 format: + and the country code, e.g. +4915112345678."))
    recaptcha_token = fields.String(load_only=True, validate=validate.Length(min=1, max=4096), metadata={
        "description": "What Firebase needs to let a web client ask for a code (a reCAPTCHA token)."})


class PhoneVerificationOut(Schema):
    verification_id = fields.String(required=True, metadata={"description": "Send it back with the code."})
    phone = fields.String(required=True)


class PhoneVerifyIn(Schema):
    verification_id = fields.String(required=True, validate=validate.Length(min=1, max=4096))
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$", error="The code has 6 digits."))


class PhoneOut(Schema):
    phone = fields.String(required=True, allow_none=True)
    verified = fields.Boolean(required=True)


class UserAccountOut(Schema):
    uid = fields.String(required=True)
    email = fields.String(allow_none=True)
    display_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    role = fields.String(required=True)
    disabled = fields.Boolean(required=True, metadata={"description": "A disabled account cannot sign in."})
    email_verified = fields.Boolean()
    providers = fields.List(fields.String(), metadata={"description": "How it signs in: password, phone, ..."})
    created_at = fields.DateTime(allow_none=True)
    last_sign_in_at = fields.DateTime(allow_none=True, metadata={"description": "Its last sign-in, per Firebase."})
    last_refresh_at = fields.DateTime(allow_none=True, metadata={"description": "Its last ID-token refresh."})


class AccountQuery(Schema):
    email = fields.Email(required=True, **EMAIL)


class PasswordChangeIn(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=128))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=6, max=128))
