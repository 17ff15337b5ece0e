from flask import Response, g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import login_required, optional_login, roles_required
from app.concessions import menu, queue, stands, stats
from app.concessions.schemas import (ItemIn, ItemOut, ItemPatch, MenuOut, MenuQuery, PageQuery, PickupIn, QueueQuery,
                                     StandIn, StandOrderOut, StandOrderPage, StandOut, StandPage, StandPatch,
                                     StandStaffIn, StandStaffOut, StandStatsOut, StateIn, StatsQuery)

blp = Blueprint("concessions", __name__, url_prefix="/api/v1",
                description="Concessions and merchandise: stands, menus, and the stands' queues")

MANAGERS = ("organizer", "admin")
WORKERS = ("staff", "organizer", "admin")


@blp.route("/venues/<venue_id>/stands", methods=["GET"])
@optional_login
@blp.arguments(PageQuery, location="query", unknown=RAISE)
@blp.response(200, StandPage)
def list_stands(args, venue_id):
    """The venue's stands by name: active ones, and for its owner and admins all of them"""
    return stands.list_stands(venue_id, viewer=g.user, **args)


@blp.route("/venues/<venue_id>/stands", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(StandIn)
@blp.response(201, StandOut)
def create_stand(data, venue_id):
    """Add a food, bar or merchandise stand to the venue (its owner or an admin)"""
    return stands.create_stand(venue_id, g.user, **data)


@blp.route("/events/<event_id>/stands", methods=["GET"])
@optional_login
@blp.arguments(PageQuery, location="query", unknown=RAISE)
@blp.response(200, StandPage)
def list_event_stands(args, event_id):
    """The stands taking orders for an event, by name"""
    return stands.list_event_stands(event_id, viewer=g.user, **args)


@blp.route("/stands/<stand_id>", methods=["GET"])
@optional_login
@blp.response(200, StandOut)
def get_stand(stand_id):
    """A stand; an inactive one only for its venue's owner and admins"""
    return stands.get_stand(stand_id, viewer=g.user)


@blp.route("/stands/<stand_id>", methods=["PATCH"])
@roles_required(*MANAGERS)
@blp.arguments(StandPatch)
@blp.response(200, StandOut)
def update_stand(data, stand_id):
    """Change a stand: its events, fees, tips, delivery to seats, active switch (owner or admin)"""
    return stands.update_stand(stand_id, g.user, **data)


@blp.route("/stands/<stand_id>", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.response(204)
def delete_stand(stand_id):
    """Delete a stand with no order left to prepare or hand over (owner or admin)"""
    stands.delete_stand(stand_id, g.user)


@blp.route("/stands/<stand_id>/staff", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(StandStaffIn)
@blp.response(200, StandStaffOut)
def add_stand_staff(data, stand_id):
    """Assign one of the venue's staff to work this stand's queue (owner or admin)"""
    return stands.add_stand_staff(stand_id, g.user, data["uid"])


@blp.route("/stands/<stand_id>/staff", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.arguments(StandStaffIn)
@blp.response(204)
def remove_stand_staff(data, stand_id):
    """Unassign a staff member from this stand (owner or admin)"""
    stands.remove_stand_staff(stand_id, g.user, data["uid"])


@blp.route("/stands/<stand_id>/items", methods=["GET"])
@optional_login
@blp.response(200, ItemOut(many=True))
def list_items(stand_id):
    """The stand's menu items by name"""
    return menu.list_items(stand_id, viewer=g.user)


@blp.route("/stands/<stand_id>/items", methods=["POST"])
@roles_required(*MANAGERS)
@blp.arguments(ItemIn)
@blp.response(201, ItemOut)
def create_item(data, stand_id):
    """Add a menu item: price, tax category, variants, option groups, stock for merchandise (owner or admin)"""
    return menu.create_item(stand_id, g.user, **data)


@blp.route("/stands/<stand_id>/items/<item_id>", methods=["PATCH"])
@roles_required(*MANAGERS)
@blp.arguments(ItemPatch)
@blp.response(200, ItemOut)
def update_item(data, stand_id, item_id):
    """Change a menu item, switch it sold out, or change its stock (never below what is sold or held)"""
    return menu.update_item(stand_id, item_id, g.user, **data)


@blp.route("/stands/<stand_id>/items/<item_id>", methods=["DELETE"])
@roles_required(*MANAGERS)
@blp.response(204)
def delete_item(stand_id, item_id):
    """Take a menu item off the menu (owner or admin)"""
    menu.delete_item(stand_id, item_id, g.user)


@blp.route("/stands/<stand_id>/menu", methods=["GET"])
@optional_login
@blp.arguments(MenuQuery, location="query", unknown=RAISE)
@blp.response(200, MenuOut)
def get_menu(args, stand_id):
    """The stand's menu for an event: whether it takes orders now, and what is available"""
    return menu.get_menu(stand_id, args["event_id"], viewer=g.user)


@blp.route("/stands/<stand_id>/queue", methods=["GET"])
@roles_required(*WORKERS)
@blp.arguments(QueueQuery, location="query", unknown=RAISE)
@blp.response(200, StandOrderPage)
def list_queue(args, stand_id):
    """The stand's orders for an event, oldest first, optionally in one state (its staff, owner, admins)"""
    return queue.list_queue(stand_id, g.user, **args)


@blp.route("/stands/<stand_id>/pickups", methods=["POST"])
@roles_required(*WORKERS)
@blp.arguments(PickupIn)
@blp.response(200, StandOrderOut)
def redeem_pickup(data, stand_id):
    """Hand a ready order over against its pickup code or QR code, once"""
    return queue.redeem_pickup(stand_id, g.user, **data)


@blp.route("/stands/<stand_id>/stats", methods=["GET"])
@roles_required(*MANAGERS)
@blp.arguments(StatsQuery, location="query", unknown=RAISE)
@blp.response(200, StandStatsOut)
def get_stand_stats(args, stand_id):
    """Revenue, items sold, top items and the median time to ready, per stand and event (owner or admin)"""
    return stats.get_stand_stats(stand_id, g.user, **args)


@blp.route("/stand-orders/<stand_order_id>", methods=["GET"])
@login_required
@blp.response(200, StandOrderOut)
def get_stand_order(stand_order_id):
    """A stand order: its buyer's (with the pickup code), or for the stand's staff, organizer and admins"""
    return queue.get_stand_order(stand_order_id, g.user)


@blp.route("/stand-orders/<stand_order_id>/qr.svg", methods=["GET"])
@login_required
@blp.response(200, content_type="image/svg+xml")
def get_stand_order_qr(stand_order_id):
    """The buyer's pickup QR code as SVG"""
    return Response(queue.stand_order_qr_svg(stand_order_id, g.user), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=300"})


@blp.route("/stand-orders/<stand_order_id>/state", methods=["POST"])
@roles_required(*WORKERS)
@blp.arguments(StateIn)
@blp.response(200, StandOrderOut)
def change_state(data, stand_order_id):
    """Move an order to its next state: preparing, ready, or cancelled and refunded (the stand's staff)"""
    return queue.change_state(stand_order_id, g.user, **data)


@blp.route("/orders/<order_id>/stand-orders", methods=["GET"])
@login_required
@blp.response(200, StandOrderOut(many=True))
def list_order_stand_orders(order_id):
    """What each stand makes of an order, with its pickup code for the buyer"""
    return queue.list_order_stand_orders(order_id, g.user)
