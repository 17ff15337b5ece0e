"""Production refuses configurations that would be unsafe or cannot work."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError, ProductionConfig

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def service_account(tmp_path):
    path = tmp_path / "sa.json"
    path.write_text("{}")
    return str(path)


@pytest.fixture
def good_env(service_account, tmp_path):
    return {"FIREBASE_PROJECT_ID": "boxoffice-prod", "FIREBASE_CREDENTIALS": service_account,
            "FIREBASE_WEB_API_KEY": "web-key", "SECRET_KEY": "x" * 40, "LOG_DIR": str(tmp_path),
            "SMTP_HOST": "smtp.example.test"}


@pytest.mark.parametrize("variable", ["FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST",
                                      "FIREBASE_DATABASE_EMULATOR_HOST", "FIREBASE_STORAGE_EMULATOR_HOST"])
def test_production_refuses_any_emulator_host(good_env, variable):
    with pytest.raises(ConfigError, match=variable):
        create_app(ProductionConfig(environ={**good_env, variable: "127.0.0.1:9099"}))


@pytest.mark.parametrize("missing, message", [
    ("FIREBASE_PROJECT_ID", "FIREBASE_PROJECT_ID"),
    ("FIREBASE_CREDENTIALS", "FIREBASE_CREDENTIALS"),
    ("FIREBASE_WEB_API_KEY", "FIREBASE_WEB_API_KEY"),
    ("SECRET_KEY", "SECRET_KEY"),
])
def test_production_refuses_to_start_without_required_settings(good_env, missing, message):
    environ = {k: v for k, v in good_env.items() if k != missing}
    with pytest.raises(ConfigError, match=message):
        create_app(ProductionConfig(environ=environ))


@pytest.mark.parametrize("change, message", [
    ({"SMTP_HOST": ""}, "SMTP_HOST"),
    ({"EMAIL_CHANNEL": "console"}, "SMTP_HOST"),
    ({"PUSH_CHANNEL": "console"}, "PUSH_CHANNEL=fcm"),
])
def test_production_refuses_channels_that_write_messages_to_the_log(good_env, change, message):
    # An order confirmation carries the ticket codes: written to the log, anyone reading it could get in.
    with pytest.raises(ConfigError, match=message):
        create_app(ProductionConfig(environ={**good_env, **change}))


def test_production_takes_smtp_and_fcm(good_env):
    config = ProductionConfig(environ=good_env)
    config.validate()
    assert (config.EMAIL_CHANNEL, config.PUSH_CHANNEL) == ("smtp", "fcm")


def test_production_refuses_a_credentials_file_that_does_not_exist(good_env):
    with pytest.raises(ConfigError, match="not found"):
        create_app(ProductionConfig(environ={**good_env, "FIREBASE_CREDENTIALS": "/nonexistent/sa.json"}))


def test_the_wsgi_entry_point_refuses_to_start_in_production_with_emulators(good_env):
    env = {"PATH": os.environ["PATH"], "APP_ENV": "production", **good_env,
           "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8080"}
    result = subprocess.run([sys.executable, "-c", "import run"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "refuses to start with emulator settings: FIRESTORE_EMULATOR_HOST" in result.stderr


def test_an_unknown_app_env_is_refused(good_env):
    env = {"PATH": os.environ["PATH"], "APP_ENV": "staging", **good_env}
    result = subprocess.run([sys.executable, "-c", "import run"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "APP_ENV must be one of" in result.stderr


TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "0a" * 16, "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM": "+15005550006",
          "SMS_WEBHOOK_BASE_URL": "https://api.boxoffice.example"}


@pytest.mark.parametrize("change, message", [
    ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
    ({"TWILIO_ACCOUNT_SID": "not-a-sid", "SMS_CHANNEL": "twilio"}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_FROM": "015005550006"}, "TWILIO_FROM"),
    ({"SMS_WEBHOOK_BASE_URL": ""}, "SMS_WEBHOOK_BASE_URL"),
    ({"SMS_WEBHOOK_BASE_URL": "http://api.boxoffice.example"}, "SMS_WEBHOOK_BASE_URL"),
    ({"TWILIO_API_BASE": "http://127.0.0.1:8099"}, "TWILIO_API_BASE"),
    ({"SMS_CHANNEL": "console"}, "SMS_CHANNEL=console"),
    ({"SMS_CHANNEL": "carrier-pigeon"}, "SMS_CHANNEL must be"),
    ({"SMS_COUNTRY_DAILY_CAPS": "+44=500"}, "SMS_COUNTRY_DAILY_CAPS"),
])
def test_production_refuses_an_sms_channel_that_cannot_work(good_env, change, message):
    environ = {k: v for k, v in {**good_env, **TWILIO, **change}.items() if v != ""}
    with pytest.raises(ConfigError, match=message):
        ProductionConfig(environ=environ).validate()


def test_production_sends_texts_through_twilio_when_configured_and_none_without_it(good_env):
    configured = ProductionConfig(environ={**good_env, **TWILIO, "SMS_COUNTRY_DAILY_CAPS": "+1:5000, +44:500"})
    configured.validate()
    assert configured.SMS_CHANNEL == "twilio"
    assert configured.SMS_COUNTRY_DAILY_CAPS == {"+1": 5000, "+44": 500}
    without = ProductionConfig(environ=good_env)
    without.validate()
    assert without.SMS_CHANNEL == "off"
