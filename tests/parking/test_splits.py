"""A parking pass splits by the built-in rules: all of it to the venue that runs the lot, less the platform's 5%
of the price before tax, whatever the dynamic multiplier made of it."""
from app.auth import Role
from tests.parking.conftest import make_garage  # noqa: F401  (the fixture)


def test_a_parking_pass_goes_to_the_venue_less_the_platform_fee(make_garage, make_user):  # noqa: F811
    garage = make_garage()
    buyer, admin = make_user(), make_user(Role.ADMIN)
    order = garage.paid(buyer)
    [line] = order["items"]
    price = line["total"] - line["tax"] - line["service_fee"] - line["tip"]
    response = garage.client.get(f"/api/v1/payouts/orders/{order['id']}/splits", headers=admin.headers)
    assert response.status_code == 200, response.json
    splits = response.json
    fee = (5 * price + 50) // 100
    venue = f"venue:{garage.lot['venue_id']}"
    assert [(p["party"], p["gross"], p["fee"], p["net"]) for p in splits["parties"]] == [
        (venue, line["total"], fee, line["total"] - fee)]
    assert price > 0 and splits["platform_fee"] == fee and splits["captured"] == order["total"] == line["total"]
