"""Text search over events without a search engine: each event stores the terms it can be found by.

Firestore matches one term per query (array-contains), so a query's longest
word is matched there and the others are checked in memory. Title and venue
words are stored with their prefixes (from two letters) so a search box can
match while the user types; description words are stored whole.
"""
from app.textfold import words

MIN_PREFIX = 2
MAX_WORD = 30
MAX_DESCRIPTION_TERMS = 300
MAX_QUERY_TERMS = 5


def _prefixes(word):
    word = word[:MAX_WORD]
    return {word[:n] for n in range(MIN_PREFIX, len(word) + 1)}


def search_terms(*, title, venue_name, category, description):
    terms = {category}
    for word in words(f"{title} {venue_name}"):
        terms |= _prefixes(word)
    description_words = dict.fromkeys(w[:MAX_WORD] for w in words(description) if len(w) >= MIN_PREFIX)
    terms |= set(list(description_words)[:MAX_DESCRIPTION_TERMS])
    return sorted(terms)


def query_terms(text):
    """The words of a search, longest first; the first goes to Firestore, the rest are checked in memory."""
    found = {w[:MAX_WORD] for w in words(text) if len(w) >= MIN_PREFIX}
    return sorted(found, key=lambda w: (-len(w), w))[:MAX_QUERY_TERMS]
