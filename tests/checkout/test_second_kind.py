"""A second kind of line, written only here, goes through the whole checkout: the proof that the interface is
right. A fixed-price product with stock (a club scarf) is held beside tickets, ordered with a code that applies
only to it, paid at the box office, refunded by line, audited, and listed in the confirmation e-mail with its
pickup code; no app module names it."""
import hashlib

import pytest
from marshmallow import Schema, fields, validate

from app.auth import Role
from app.checkout import kinds
from app.checkout.kinds import Line
from app.errors import AppError
from app.firebase import db
from app.inventory import claims
from app.notifications.delivery import deliver_outbox
from tests.mailbox import smtp_config
from tests.orders.conftest import error

PICKUPS = "test_product_pickups"
PRODUCTS = {"scarf": ("Club scarf", 1500, 3)}


class ProductLineIn(Schema):
    product = fields.String(required=True, validate=validate.OneOf(sorted(PRODUCTS)))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))


def _pickup_ref(order_id, unit_key):
    return db().collection(PICKUPS).document(hashlib.sha256(f"{order_id}/{unit_key}".encode()).hexdigest()[:20])


class ProductKind:
    name = "product"
    line_schema = ProductLineIn

    def plan(self, event, requests, now, *, buyer_uid):
        lines = []
        for request in requests:
            label, price, stock = PRODUCTS[request["product"]]
            pool = claims.Pool(id=f"product:{event['id']}:{request['product']}",
                               scope=f"{event['id']}/product/{request['product']}", units=range(stock), name=label,
                               about={"product": request["product"]})
            lines.append(Line(kind=self.name, name=label, quantity=request["quantity"], unit_price=price,
                              currency="EUR", catalog_id=request["product"], tax_category="merchandise",
                              details={"product": request["product"]}, work=pool))
        return lines

    def pick(self, line, attempts, now, flight):
        picked = claims.pick(line.work, line.quantity, attempts, now, flight)
        return {doc_id: (line.work.id, unit) for doc_id, unit in picked.items()}

    def collided(self, line, claim_id, unit, attempts, now):
        claims.learn(line.work, claim_id, unit, attempts, now)

    def sell(self, tx, order, line, units, now):
        issued = []
        for unit in units:
            ref = _pickup_ref(order["id"], unit["key"])
            tx.set(ref, {"order_id": order["id"], "product": line["details"]["product"], "state": "ready"})
            issued.append({"id": ref.id, "product": line["details"]["product"]})
        return issued

    def release(self, tx, order, line, units, now):
        return None

    def void(self, tx, order, line, units, now, *, force):
        refs = [_pickup_ref(order["id"], unit["key"]) for unit in units]
        if any(s.get("state") == "collected" for s in tx.get_all(refs)) and not force:
            raise AppError("conflict", "A scarf was already collected.")
        for ref in refs:
            tx.update(ref, {"state": "void"})

    def describe(self, order, line, units):
        return [{"label": line["name"], "id": unit["issued"]["id"], "code": f"PICKUP-{unit['issued']['id']}"}
                for unit in units]


@pytest.fixture
def app(make_app, smtp_server):
    app = make_app(**smtp_config(smtp_server))
    kinds.register(app, ProductKind())
    return app


def scarves(quantity):
    return {"kind": "product", "product": "scarf", "quantity": quantity}


def test_a_kind_defined_here_goes_through_hold_order_payment_refund_audit_and_email(app, make_shop, make_user,
                                                                                     smtp_server):
    shop = make_shop(capacity=10)
    buyer, rival, admin = make_user(), make_user(), make_user(Role.ADMIN)
    assert "product" in shop.client.get("/api/v1/checkout/kinds").json["kinds"]
    shop.client.patch(f"/api/v1/venues/{shop.sale.event['venue_id']}", headers=shop.owner.headers, json={
        "tax_rates": {"merchandise": {"basis_points": 1900, "inclusive": True}}})

    hold = shop.hold(buyer, 2, lines=[scarves(2)])
    tickets_line, scarf_line = hold["items"]
    assert (scarf_line["kind"], scarf_line["details"], scarf_line["subtotal"]) == ("product", {"product": "scarf"},
                                                                                  3000)
    assert scarf_line["tax"] == 479 and hold["total"] == 5000 + 3000
    # Its stock is claimed like ticket units: one scarf is left for the rival.
    assert error(shop.sale.hold(rival, 0, lines=[scarves(2)])) == (409, "sold_out")

    shop.add_discount(code="SCARFY10", kind="percent", percent_off=10, kinds=["product"])
    order = shop.order(buyer, hold["id"], code="SCARFY10").json
    assert (order["discount"], order["total"]) == (300, 7700)
    paid = shop.mark_paid(shop.owner, order["id"]).json
    products = [i for i in paid["issued"] if i["kind"] == "product"]
    assert len(paid["tickets"]) == 2 and len(products) == 2 and {p["price"] for p in products} == {1350}
    with app.app_context():
        deliver_outbox()
    [confirmation] = smtp_server.to(buyer.email)
    assert confirmation["Subject"] == f"Your order for {shop.sale.event['title']}"
    text = confirmation.get_body(preferencelist=("plain",)).get_content()
    for product in products:
        assert f"PICKUP-{product['id']}" in text
    assert text.count("Club scarf") == 2 and "13.50 EUR" in text

    refunded = shop.refund(shop.owner, paid["id"], line_ids=[scarf_line["id"]])
    assert refunded.status_code == 201, refunded.json
    assert (refunded.json["state"], refunded.json["refunded_amount"]) == ("partially_refunded", 2700)
    with app.app_context():
        assert {d.get("state") for d in db().collection(PICKUPS).stream()} == {"void"}
    assert shop.sale.hold(rival, 0, lines=[scarves(2)]).status_code == 201  # the refund returned the stock

    audit = shop.client.get(f"/api/v1/admin/audit?event_id={shop.id}", headers=admin.headers).json["items"]
    created = next(e for e in audit if e["action"] == "order.created")
    assert created["details"]["kinds"] == ["product", "ticket"]
    assert {"payment.paid", "order.refunded"} <= {e["action"] for e in audit}

    with app.app_context():
        deliver_outbox()
    refund_mail = smtp_server.to(buyer.email)[-1]
    assert refund_mail["Subject"] == f"Refund of 27.00 EUR for {shop.sale.event['title']}"
    assert "2 items" in refund_mail.get_body(preferencelist=("plain",)).get_content()
