"""A customer's own data, in one JSON document they can download: profile, account, devices, orders, tickets."""
from app.orders import lists as orders
from app.tickets import service as tickets
from app.timeutil import utcnow
from app.users import accounts
from app.users import service as users

PAGE = 200


def export_personal_data(user):
    """Everything the platform keeps about the caller as a person and a buyer (push tokens excepted: they are
    the devices' secrets)."""
    return {"generated_at": utcnow(), "profile": users.get_profile(user), "account": accounts.get_account(user.uid),
            "devices": users.list_devices(user.uid),
            "orders": [order for page in orders.iter_own_orders(user, size=PAGE) for order in page],
            "tickets": [ticket for page in tickets.iter_own_tickets(user, size=PAGE) for ticket in page]}
