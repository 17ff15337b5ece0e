"""What the events domain announces after its commits; sender: the event as committed."""
from app.signals import after_commit

event_published = after_commit("event-published")
event_cancelled = after_commit("event-cancelled")
event_completed = after_commit("event-completed")
# sender: the event id. A ticket type was added, changed or deleted: what the event sells changed.
ticket_types_changed = after_commit("ticket-types-changed")
