"""Cursor pagination: opaque cursors over a query's sort keys, and pages read through them.

A cursor is the sort values and document id of the last item a page returned,
so the next page starts right after it however many documents were added or
removed in between.
"""
import base64
import binascii
import json
from datetime import datetime

from app.errors import AppError
from app.timeutil import as_utc

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# A page filtered in memory reads at most this many documents; it may come back
# short, with a cursor to read on, rather than scan a whole collection.
MAX_SCAN = 500


def _invalid_cursor():
    return AppError("invalid_cursor", "The cursor is not one this list handed out.")


def encode_cursor(values):
    payload = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, types):
    """The cursor's values, checked against the expected types; 400 invalid_cursor otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, binascii.Error):
        raise _invalid_cursor() from None
    if not isinstance(payload, list) or len(payload) != len(types):
        raise _invalid_cursor()
    values = []
    for value, expected in zip(payload, types):
        if expected is datetime:
            try:
                value = datetime.fromisoformat(value["t"])
                if value.tzinfo is None:
                    raise ValueError("naive time")
                value = as_utc(value)
            except (TypeError, KeyError, ValueError):
                raise _invalid_cursor() from None
        elif not isinstance(value, expected) or isinstance(value, bool):
            raise _invalid_cursor()
        elif isinstance(value, str) and not _is_utf8(value):
            # A lone surrogate ("\ud800" in the JSON) cannot be sent to Firestore.
            raise _invalid_cursor()
        values.append(value)
    return values


def _is_utf8(value):
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _is_document_id(value):
    return (0 < len(value.encode()) <= 1500 and "/" not in value and value not in {".", ".."}
            and not (value.startswith("__") and value.endswith("__")))


def fetch_page(query, sort_fields, *, limit, cursor=None, keep=None):
    """Up to ``limit`` records after ``cursor``, and the cursor of the next page (None on the last page).

    ``query`` must be ordered by ``sort_fields`` (name -> type) and then by
    document id, and its documents must carry their ``id``. ``keep`` filters
    records in memory for conditions Firestore cannot express in one query.
    """
    names = list(sort_fields) + ["__name__"]
    position = decode_cursor(cursor, list(sort_fields.values()) + [str]) if cursor else None
    if position is not None and not _is_document_id(position[-1]):
        # Firestore answers INVALID_ARGUMENT to a start_after on an id it cannot hold.
        raise _invalid_cursor()
    batch = limit + 1 if keep is None else max(limit + 1, 50)
    items, scanned = [], 0
    while True:
        page_query = query.limit(batch)
        if position is not None:
            page_query = page_query.start_after(dict(zip(names, position)))
        docs = list(page_query.stream())
        for doc in docs:
            record = doc.to_dict()
            if keep is None or keep(record):
                items.append(record)
                if len(items) > limit:
                    return items[:limit], _cursor_of(items[limit - 1], sort_fields)
        scanned += len(docs)
        if len(docs) < batch:
            return items, None
        position = [docs[-1].get(name) for name in sort_fields] + [docs[-1].id]
        if scanned >= MAX_SCAN:
            return items, encode_cursor(position)


def _cursor_of(record, sort_fields):
    return encode_cursor([record[name] for name in sort_fields] + [record["id"]])


def page_of(items, next_cursor, total=None):
    """A list's answer: its items, the cursor of the next page, whether there is one, and, where the list
    counted it, how many match in all."""
    return {"items": items, "next_cursor": next_cursor, "has_more": next_cursor is not None, "total": total}


def count(query):
    """How many documents the query matches: one aggregation, billed one read per 1,000 index entries it scans,
    however many documents it counts."""
    return query.count().get()[0][0].value


def iter_pages(query, size, *, fields=None):
    """The query's documents as dicts, ``size`` at a time (``query`` ordered and ending with ``__name__``): only
    one page is in memory at once, however many documents there are. ``fields`` reads only those fields (they
    must include the fields the query is ordered by: the next page starts after the last document's values)."""
    position = None
    if fields is not None:
        query = query.select(fields)
    while True:
        page_query = query.limit(size) if position is None else query.start_after(position).limit(size)
        docs = list(page_query.stream())
        if docs:
            yield [doc.to_dict() | {"id": doc.id} for doc in docs]
        if len(docs) < size:
            return
        position = docs[-1]


def created_between(query, start=None, end=None):
    """``query`` (ordered by ``created_at`` newest first, then id) from ``start`` (inclusive) to ``end``
    (exclusive). The bounds are cursors on the order, not range filters, so a list filtered by equalities keeps
    being served by merging the composite indexes of each equality field with ``created_at``."""
    if end is not None:
        query = query.start_after({"created_at": end})
    if start is not None:
        query = query.end_at({"created_at": start})
    return query
