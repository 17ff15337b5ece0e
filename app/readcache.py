"""Read-through caching of public reads, invalidated by generation.

Each family of cached values (one event, the public event lists) has a
generation token, and each value is stored together with the generation it was
read under. A writer replaces the token after its Firestore write commits; a
value whose generation is not the current one is a miss. A reader takes the
token *before* it reads Firestore, so a reader that raced a write stores what it
read under the old generation, and nobody is served it. Deleting the value
instead would let such a reader put the old value back after the delete.

The token and the value come back in one get_many, one round trip to Redis.
With several workers or hosts the cache must be shared (REDIS_URL), or one
worker's invalidation cannot reach another worker's copy.
"""
import secrets

from app.extensions import cache


def cached(family, key, load):
    """The cached value for (family, key), or ``load()``'s result, cached when it is not None."""
    generation_key = f"gen:{family}"
    value_key = f"{family}:{key}"
    generation, entry = cache.get_many(generation_key, value_key)
    if generation is None:
        cache.add(generation_key, secrets.token_hex(8), timeout=0)
        generation = cache.get(generation_key)
        if generation is None:
            return load()
    if entry is not None and entry[0] == generation:
        return entry[1]
    value = load()
    if value is not None:
        cache.set(value_key, (generation, value))
    return value


def invalidate(*families):
    """Call after the Firestore write commits: later reads of these families miss the cache."""
    for family in families:
        cache.set(f"gen:{family}", secrets.token_hex(8), timeout=0)
