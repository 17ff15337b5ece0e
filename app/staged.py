"""A Firestore transaction whose writes wait until the end, so several domains can share one.

Firestore applies a transaction's writes at commit, and the client refuses a
read once a write has been queued. When one transaction runs code from several
domains (an order's settlement runs each line kind's ``sell``), one domain's
write would stop the next domain's read. ``StagedTransaction`` queues the
writes and hands them to the real transaction in ``apply()``, after every
read: the result is the same transaction, in an order the client accepts.
Reads never see staged writes, exactly as in Firestore.
"""
from google.cloud import firestore

from app.firebase import db


class StagedTransaction:
    def __init__(self, transaction):
        self.transaction = transaction
        self._writes = []

    def get(self, ref):
        return ref.get(transaction=self.transaction)

    def get_all(self, refs):
        return list(self.transaction.get_all(list(refs)))

    def query(self, query):
        return list(query.stream(transaction=self.transaction))

    def create(self, ref, data):
        self._writes.append(("create", ref, data, {}))

    def set(self, ref, data, merge=False):
        self._writes.append(("set", ref, data, {"merge": merge}))

    def update(self, ref, data):
        self._writes.append(("update", ref, data, {}))

    def delete(self, ref):
        self._writes.append(("delete", ref, None, {}))

    def apply(self):
        """Queue every staged write on the real transaction, in the order it was staged."""
        for operation, ref, data, options in self._writes:
            if operation == "delete":
                self.transaction.delete(ref)
            else:
                getattr(self.transaction, operation)(ref, data, **options)
        self._writes = []


def run_staged(work):
    """Run ``work(tx)`` in one Firestore transaction with staged writes (retried on contention, like any
    transaction: ``work`` must have no side effects); returns what it returns."""
    @firestore.transactional
    def run(transaction):
        tx = StagedTransaction(transaction)
        result = work(tx)
        tx.apply()
        return result

    return run(db().transaction())
