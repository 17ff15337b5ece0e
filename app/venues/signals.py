"""What the venues domain announces and asks."""
from app.signals import after_commit, question

# sender: the venue as committed; before=: the venue before the change. Its name, city or country changed.
venue_details_changed = after_commit("venue-details-changed")
# sender: the venue id. Asked before a venue's seat map changes or the venue is deleted; a receiver
# answers True while something it owns still uses the venue.
venue_in_use = question("venue-in-use")
