"""Phone numbers: E.164, verified through the Auth emulator's phone sign-in, one account per number."""
from app.firebase import db
from app.smsquota import SMS_QUOTA
from tests.conftest import sent_code


def ask_code(client, user, phone):
    return client.post("/api/v1/users/me/phone", json={"phone": phone}, headers=user.headers)


def confirm(client, user, verification_id, code):
    return client.post("/api/v1/users/me/phone/verify", json={"verification_id": verification_id, "code": code},
                       headers=user.headers)


def test_a_number_is_verified_with_the_code_firebase_texted(app, client, stack, make_user):
    user = make_user()
    assert client.get("/api/v1/users/me/phone", headers=user.headers).json == {"phone": None, "verified": False}

    asked = ask_code(client, user, "+4915112345678")
    assert asked.status_code == 202 and asked.json["phone"] == "+4915112345678"
    verified = confirm(client, user, asked.json["verification_id"], sent_code(stack, asked.json["verification_id"]))

    assert verified.status_code == 200
    assert verified.json == {"phone": "+4915112345678", "verified": True}
    assert client.get("/api/v1/users/me/phone", headers=user.headers).json == verified.json
    assert client.get("/api/v1/auth/me", headers=user.headers).json["phone"] == "+4915112345678"
    assert app.extensions["firebase"].get_user(user.uid).phone_number == "+4915112345678"

    assert client.delete("/api/v1/users/me/phone", headers=user.headers).status_code == 204
    assert client.get("/api/v1/users/me/phone", headers=user.headers).json == {"phone": None, "verified": False}
    assert app.extensions["firebase"].get_user(user.uid).phone_number is None


def test_a_wrong_code_or_a_stale_verification_leaves_the_number_unverified(app, client, stack, make_user):
    user = make_user()
    asked = ask_code(client, user, "+4915112345678")
    code = sent_code(stack, asked.json["verification_id"])
    wrong = "000000" if code != "000000" else "111111"

    refused = confirm(client, user, asked.json["verification_id"], wrong)
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "invalid_verification_code"
    unknown = confirm(client, user, "no-such-verification", code)
    assert unknown.status_code == 422
    assert unknown.json["error"]["code"] == "verification_expired"
    assert app.extensions["firebase"].get_user(user.uid).phone_number is None
    assert client.get("/api/v1/users/me/phone", headers=user.headers).json["verified"] is False


def test_a_number_that_is_not_e164_is_refused_before_any_code_is_sent(app, client, make_user):
    user = make_user()
    for phone in ("0151 12345678", "4915112345678", "+0151123", "+49 151 1234", "+1234567890123456"):
        response = ask_code(client, user, phone)
        assert response.status_code == 422, phone
        assert "phone" in response.json["error"]["details"]["fields"]
    with app.app_context():
        assert list(db().collection(SMS_QUOTA).stream()) == []


def test_a_number_another_account_holds_is_refused_with_a_clear_error(app, client, stack, make_user,
                                                                      verify_phone):
    first, second, third = make_user(), make_user(), make_user()
    # The third asks for a code while the number is still free, and confirms it after the first has taken it.
    late = ask_code(client, third, "+4915112345678")
    verify_phone(first, "+4915112345678")

    taken = ask_code(client, second, "+4915112345678")
    assert taken.status_code == 409
    assert taken.json["error"]["code"] == "phone_taken"
    lost_race = confirm(client, third, late.json["verification_id"], sent_code(stack, late.json["verification_id"]))
    assert lost_race.status_code == 409
    assert lost_race.json["error"]["code"] == "phone_taken"

    firebase = app.extensions["firebase"]
    assert firebase.get_user(first.uid).phone_number == "+4915112345678"
    assert firebase.get_user(second.uid).phone_number is None
    assert firebase.get_user(third.uid).phone_number is None
    # Asking again for one's own number is fine.
    assert ask_code(client, first, "+4915112345678").status_code == 202


def test_codes_count_against_the_sms_limits_per_account_number_and_country(make_app, stack, make_user):
    app = make_app(SMS_ACCOUNT_DAILY_LIMIT=2, SMS_NUMBER_DAILY_LIMIT=2,
                   SMS_COUNTRY_DAILY_CAPS={"+44": 3, "+49": 100, "*": 0})
    client = app.test_client()
    pumper, other, third = make_user(), make_user(), make_user()

    assert ask_code(client, pumper, "+4915100000001").status_code == 202
    assert ask_code(client, pumper, "+4915100000002").status_code == 202
    account = ask_code(client, pumper, "+4915100000003")
    assert account.status_code == 429
    assert account.json["error"]["code"] == "sms_limit_reached"
    assert account.json["error"]["details"]["limit"] == "account"

    assert ask_code(client, other, "+4915100000001").status_code == 202
    number = ask_code(client, third, "+4915100000001")
    assert (number.status_code, number.json["error"]["details"]["limit"]) == (429, "number")

    assert ask_code(client, other, "+447700900001").status_code == 202
    assert ask_code(client, third, "+447700900002").status_code == 202
    assert ask_code(client, third, "+447700900003").status_code == 202
    country = ask_code(client, make_user(), "+447700900004")
    assert (country.status_code, country.json["error"]["details"]["limit"]) == (429, "country")
    # No '*' budget: a number matching no listed prefix gets no code at all.
    elsewhere = ask_code(client, make_user(), "+33612345678")
    assert (elsewhere.status_code, elsewhere.json["error"]["details"]["limit"]) == (429, "country")
