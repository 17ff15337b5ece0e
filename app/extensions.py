"""Extension objects, created unbound; ``create_app`` binds them."""
import threading

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api

from app.errors import ErrorEnvelope


class BoxofficeApi(Api):
    """flask-smorest's Api, documenting the blueprints when the OpenAPI document is first read.

    Turning every operation's schemas into the document takes most of an app's
    start-up; routes are registered at once, their documentation on the first
    read of ``spec`` (the ``/openapi.json`` view, the docs), in registration
    order, so the document is the one flask-smorest would have built.
    """
    ERROR_SCHEMA = ErrorEnvelope

    def __init__(self, *args, **kwargs):
        self._undocumented = []
        self._documenting = threading.Lock()
        super().__init__(*args, **kwargs)

    def init_app(self, app, *args, **kwargs):
        self._undocumented = []
        super().init_app(app, *args, **kwargs)

    def register_blueprint(self, blp, *, parameters=None, **options):
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, self._app, name, parameters))

    @property
    def spec(self):
        with self._documenting:
            while self._undocumented:
                blp, app, name, parameters = self._undocumented.pop(0)
                blp.register_views_in_doc(self, app, self._spec, name=name, parameters=parameters)
                self._spec.tag({"name": name, "description": blp.description})
        return self._spec

    @spec.setter
    def spec(self, value):
        self._spec = value


limiter = Limiter(key_func=get_remote_address)
cache = Cache()
api = BoxofficeApi()
