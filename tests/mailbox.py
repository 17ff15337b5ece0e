"""A real SMTP server on loopback for any test that reads what was mailed: aiosmtpd on a free port, started per
test and stopped after."""
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"to": envelope.rcpt_tos, "from": envelope.mail_from, "message": parsed})
        return "250 OK"

    def to(self, address):
        return [m["message"] for m in self.messages if address in m["to"]]


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


def smtp_config(mailbox):
    """App settings that send e-mail to ``mailbox``."""
    return {"EMAIL_CHANNEL": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": mailbox.port, "SMTP_SECURITY": "none",
            "SMTP_FROM": "Boxoffice <tickets@boxoffice.test>"}
