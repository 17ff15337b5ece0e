"""E-mail over SMTP (smtplib), or to the log with the ``console`` channel for local runs.

Each e-mail carries a Message-ID named after its outbox message, so that if
one is ever sent twice (see the README on crashes) mail clients that collapse
duplicates by Message-ID show it once.
"""
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from flask import current_app

from app.notifications.service import ChannelState
from app.timeutil import utcnow

logger = logging.getLogger(__name__)


def build_email(person, content, *, message_id, sender):
    email = EmailMessage()
    email["From"] = sender
    email["To"] = formataddr((person.name or "", person.email))
    email["Subject"] = content.subject
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = f"<{message_id}@boxoffice.notifications>"
    email.set_content(content.text)
    email.add_alternative(content.html, subtype="html")
    html = email.get_payload()[1]
    for cid, png, filename in content.images:
        html.add_related(png, "image", "png", cid=f"<{cid}>", filename=filename, disposition="inline")
    return email


def _connect(cfg):
    host, port, timeout = cfg["SMTP_HOST"], cfg["SMTP_PORT"], cfg["SMTP_TIMEOUT_SECONDS"]
    if cfg["SMTP_SECURITY"] == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    if cfg["SMTP_SECURITY"] == "starttls":
        smtp.starttls(context=ssl.create_default_context())
    return smtp


def send_email(person, content, message):
    """Send the message's e-mail; ChannelState.NONE when the user has no address. Raises on failure."""
    if not person.email:
        return ChannelState.NONE
    cfg = current_app.config
    email = build_email(person, content, message_id=message["id"], sender=cfg["SMTP_FROM"])
    if cfg["EMAIL_CHANNEL"] == "console":
        # For local runs only (production refuses the console channel); the log masks the ticket codes.
        logger.info("e-mail (console) id=%s uid=%s subject=%r\n%s", message["id"], person.uid, content.subject,
                    content.text)
        return ChannelState.SENT
    with _connect(cfg) as smtp:
        if cfg["SMTP_USER"]:
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
        smtp.send_message(email)
    logger.info("e-mail sent id=%s uid=%s kind=%s", message["id"], person.uid, message["kind"])
    return ChannelState.SENT
