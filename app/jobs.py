"""The scheduler's job list: service functions and their triggers.

``scheduler.py`` runs each inside an app context. Every job must be safe to
run twice, concurrently, or after a crash half-way; ``leader_only`` jobs run
only in the scheduler process that holds the scheduler lease.
"""


def scheduler_jobs(config):
    return [
        dict(id="scheduler_lease", func="app.leases:hold_scheduler_lease", trigger="interval",
             seconds=config["SCHEDULER_HEARTBEAT_SECONDS"], leader_only=False),
        dict(id="expire_holds", func="app.checkout.service:expire_holds", trigger="interval", seconds=30,
             leader_only=True),
        dict(id="expire_orders", func="app.orders.unpaid:expire_orders", trigger="interval", seconds=30,
             leader_only=True),
        dict(id="send_refunds", func="app.orders.refund_queue:send_refunds", trigger="interval", seconds=30,
             leader_only=True),
        dict(id="settle_cancelled_events", func="app.orders.cancellation:settle_cancelled_events",
             trigger="interval", seconds=60, leader_only=True),
        dict(id="sweep_request_flights", func="app.singleflight:sweep_flights", trigger="interval", seconds=300,
             leader_only=True),
        dict(id="repair_live_feed", func="app.livefeed.service:repair_live_feed", trigger="interval", seconds=60,
             leader_only=True),
        dict(id="complete_ended_events", func="app.events.lifecycle:complete_ended_events", trigger="interval",
             seconds=300, leader_only=True),
        dict(id="send_reminders", func="app.notifications.reminders:send_reminders", trigger="interval", seconds=60,
             leader_only=True),
        dict(id="send_parking_reminders", func="app.notifications.reminders:send_parking_reminders",
             trigger="interval", seconds=60, leader_only=True),
        dict(id="flag_overdue_parking_sessions", func="app.parking.sessions:flag_overdue_sessions",
             trigger="interval", seconds=300, leader_only=True),
        dict(id="catch_up_sales", func="app.reports.counters:catch_up_sales", trigger="interval", seconds=300,
             leader_only=True),
        dict(id="deliver_outbox", func="app.notifications.delivery:deliver_outbox", trigger="interval",
             seconds=config["OUTBOX_DELIVERY_SECONDS"], leader_only=True),
        dict(id="cancel_unaccepted_orders", func="app.concessions.queue:cancel_unaccepted_orders",
             trigger="interval", seconds=60, leader_only=True),
        dict(id="send_payouts", func="app.payouts.transfers:send_payouts", trigger="interval", seconds=30,
             leader_only=True),
        dict(id="repair_bookings", func="app.payouts.repair:repair_bookings", trigger="interval", seconds=300,
             leader_only=True),
    ]
