"""Signals: how a domain says that something happened without knowing who listens.

Each domain declares its signals in its own ``signals.py`` and sends them
after its Firestore transaction commits; the packages that care (notifications,
the live feed, ...) connect their receivers in their package's ``__init__``.
The sender never imports a receiver, so no two domains need to import each
other.

Two flavours:

- ``after_commit(name)``: an announcement. Receivers run in the sender's
  thread, one after another; one that raises is logged and skipped, because
  the change it reacts to has committed and must stand, and the other
  receivers still run.
- ``question(name)``: the sender asks before it commits (``send`` returns each
  receiver's answer). A receiver's failure propagates: an unanswered question
  must not be taken for "no".
"""
import logging

from blinker import NamedSignal

logger = logging.getLogger(__name__)


class AfterCommitSignal(NamedSignal):
    def send(self, sender=None, /, **kwargs):
        results = []
        for receiver in self.receivers_for(sender):
            try:
                results.append((receiver, receiver(sender, **kwargs)))
            except Exception:  # the commit stands; the failure is the receiver's to report
                logger.exception("receiver %s of signal %s failed", getattr(receiver, "__qualname__", receiver),
                                 self.name)
        return results


def after_commit(name, doc=None):
    return AfterCommitSignal(name, doc)


def question(name, doc=None):
    return NamedSignal(name, doc)
