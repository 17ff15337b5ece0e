"""Extension objects, created unbound; ``create_app`` binds them."""
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api

from app.errors import ErrorEnvelope


class BoxofficeApi(Api):
    ERROR_SCHEMA = ErrorEnvelope


limiter = Limiter(key_func=get_remote_address)
cache = Cache()
api = BoxofficeApi()
