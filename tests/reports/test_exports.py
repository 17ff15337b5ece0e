"""CSV exports of an event: orders, attendees and check-ins, streamed page by page, so 2,000 orders in pages of
200 export in the memory of one page (measured with tracemalloc as peak growth while the response is read, not as
time)."""
import csv
import io
import tracemalloc
from datetime import timedelta

import pytest
from google.cloud.firestore_v1 import FieldFilter

from app.auth import Role
from app.checkin import service as checkin
from app.firebase import db
from app.orders.records import ORDERS, order_ref
from app.pagination import iter_pages
from tests.factories import current

LARGE = 2_000
PAGE = 200


@pytest.fixture
def app(make_app):
    return make_app(CHECKIN_OPENS_MINUTES_BEFORE_START=60 * 24 * 60, EXPORT_PAGE_SIZE=PAGE)


def seed_orders(app, template, count):
    """``count`` copies of a paid order as the orders domain wrote it, under new ids and creation times, in
    batched writes of 500 (Firestore's limit per commit)."""
    ids = []
    with app.app_context():
        collection = db().collection(ORDERS)
        for start in range(0, count, 500):
            batch = db().batch()
            for n in range(start, min(count, start + 500)):
                ref = collection.document()
                batch.create(ref, {**template, "id": ref.id, "created_at": template["created_at"] - timedelta(
                    seconds=n + 1)})
                ids.append(ref.id)
            batch.commit()
    return ids


def read_streamed(client, path, user):
    """(number of lines, the first page's text, the last page's text, peak memory growth in bytes) of reading
    the export as it streams."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        floor = tracemalloc.get_traced_memory()[0]
        response = client.get(path, headers=user.headers, buffered=False)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        lines, head, tail = 0, b"", b""
        for number, chunk in enumerate(response.iter_encoded()):
            lines += chunk.count(b"\n")
            head = head + chunk if number < 2 else head
            tail = chunk
        response.close()
        peak = tracemalloc.get_traced_memory()[1] - floor
    finally:
        tracemalloc.stop()
    return lines, head, tail, peak


def peak_of_reading_them_all(app, event_id):
    """What holding every order of the event at once costs (read in pages too: one stream of them all outlasts
    FIRESTORE_TIMEOUT_SECONDS here under tracemalloc)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        floor = tracemalloc.get_traced_memory()[0]
        with app.app_context():
            query = db().collection(ORDERS).where(filter=FieldFilter("event_id", "==", event_id))
            everything = [order for page in iter_pages(query.order_by("__name__"), 500) for order in page]
        peak = tracemalloc.get_traced_memory()[1] - floor
    finally:
        tracemalloc.stop()
    assert len(everything) == LARGE + 1
    return peak


def test_2000_orders_export_as_csv_in_the_memory_of_a_page(app, client, make_shop, make_user):
    shop, buyer = make_shop(capacity=10), make_user()
    client.patch("/api/v1/users/me", json={"display_name": "Ada Buyer"}, headers=buyer.headers)
    real = shop.paid(buyer, 2)
    with app.app_context():
        template = order_ref(real["id"]).get().to_dict()
    seed_orders(app, template, LARGE)
    lines, head, tail, streamed = read_streamed(client, f"/api/v1/events/{shop.id}/exports/orders.csv", shop.owner)
    assert lines == LARGE + 2
    header, newest = list(csv.reader(io.StringIO(head.decode())))[:2]
    row = dict(zip(header, newest))
    assert (row["order_id"], row["state"], row["total"], row["buyer_email"], row["buyer_name"]) == (
        real["id"], "paid", str(real["total"]), buyer.email, "Ada Buyer")
    assert (row["lines"], row["units"], row["payment_method"]) == ("2 x General admission", "2", "manual")
    assert tail.decode().rstrip().endswith("2")
    whole = peak_of_reading_them_all(app, shop.id)
    assert streamed < whole / 4, (streamed, whole)
    assert streamed < 16 * 1024 * 1024


def test_attendees_and_checkins_of_an_event(app, client, make_shop, make_user):
    shop, buyer = make_shop(capacity=10), make_user()
    client.patch("/api/v1/users/me", json={"display_name": "=HYPERLINK(\"http://evil\")"}, headers=buyer.headers)
    kept = shop.paid(buyer, 2)
    refunded = shop.paid(buyer, 1)
    assert shop.refund(shop.owner, refunded["id"], reason="Ill").status_code == 201
    entered = kept["tickets"][0]["ticket_id"]
    code = client.get(f"/api/v1/tickets/{entered}", headers=buyer.headers).json["code"]
    with app.app_context():
        assert checkin.perform_checkin(shop.id, current(shop.owner), code=code, nonce="export-1",
                                       gate="east")["result"] == "ok"

    attendees = client.get(f"/api/v1/events/{shop.id}/exports/attendees.csv", headers=shop.owner.headers)
    assert attendees.status_code == 200
    assert attendees.headers["Content-Disposition"] == f'attachment; filename="{shop.id}-attendees.csv"'
    rows = {row["ticket_id"]: row for row in csv.DictReader(io.StringIO(attendees.get_data(as_text=True)))}
    assert len(rows) == 3
    assert (rows[entered]["used_gate"], rows[entered]["state"], rows[entered]["holder_email"]) == (
        "east", "valid", buyer.email)
    voided = rows[refunded["tickets"][0]["ticket_id"]]
    assert (voided["state"], voided["void_reason"]) == ("voided", "Ill")
    # A spreadsheet opening the file shows the name; it does not run it as a formula.
    assert voided["holder_name"] == "'=HYPERLINK(\"http://evil\")"

    checkins = client.get(f"/api/v1/events/{shop.id}/exports/checkins.csv", headers=shop.owner.headers)
    [row] = list(csv.DictReader(io.StringIO(checkins.get_data(as_text=True))))
    assert (row["ticket_id"], row["first_gate"], row["entries"], row["by_uid"]) == (entered, "east", "1",
                                                                                    shop.owner.uid)


def test_exports_are_for_those_who_manage_the_event(client, make_shop, make_user):
    shop, buyer, other, admin = make_shop(), make_user(), make_user(Role.ORGANIZER), make_user(Role.ADMIN)
    shop.paid(buyer)
    for what in ("orders", "attendees", "checkins"):
        path = f"/api/v1/events/{shop.id}/exports/{what}.csv"
        assert client.get(path, headers=admin.headers).status_code == 200
        for user, status in ((buyer, 403), (other, 403)):
            refused = client.get(path, headers=user.headers)
            assert (refused.status_code, refused.mimetype) == (status, "application/json")
        assert client.get(f"/api/v1/events/nosuchevent/exports/{what}.csv",
                          headers=admin.headers).status_code == 404
