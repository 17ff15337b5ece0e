"""Events and their ticket types. It listens to the venues domain: a venue is in use while draft or
published events are at it, and its new name, city or country are copied onto its events."""
from app.events import service
from app.venues.signals import venue_details_changed, venue_in_use


def _venue_in_use(venue_id, **_):
    return service.has_active_events(venue_id)


def _venue_details_changed(venue, **_):
    service.sync_venue_details(venue)


venue_in_use.connect(_venue_in_use)
venue_details_changed.connect(_venue_details_changed)
