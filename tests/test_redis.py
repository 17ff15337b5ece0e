"""With REDIS_URL set, rate limits and the cache live in a real redis-server shared by every worker."""
import pytest
import redis

from app.extensions import cache
from devstack import RedisServer


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with RedisServer(log_dir=tmp_path_factory.mktemp("redis-logs")) as server:
        yield server.url


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def login(client, user):
    return client.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})


@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_rate_limits_are_shared_between_workers_only_through_redis(make_app, make_user, redis_url, redis_client,
                                                                   storage):
    config = dict(RATELIMIT_ENABLED=True, RATELIMIT_AUTH="2 per minute")
    if storage == "redis":
        config.update(REDIS_URL=redis_url, RATELIMIT_STORAGE_URI=redis_url)
    user = make_user()
    first_worker = make_app(**config).test_client()
    assert login(first_worker, user).status_code == 200
    assert login(first_worker, user).status_code == 200

    # A second app with its own limiter storage stands in for a second gunicorn worker.
    second_worker = make_app(**config).test_client()
    third = login(second_worker, user)
    if storage == "redis":
        assert third.status_code == 429
        assert any(b"boxoffice-limits" in key for key in redis_client.keys("*"))
    else:
        assert third.status_code == 200


def test_the_cache_is_stored_in_redis(make_app, redis_url, redis_client):
    app = make_app(REDIS_URL=redis_url, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url)
    with app.app_context():
        cache.set("greeting", {"hello": "world"})
        assert cache.get("greeting") == {"hello": "world"}
    assert redis_client.exists("boxoffice-cache:greeting")
