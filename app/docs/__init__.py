"""The interactive API docs, whole from this app: /api/v1/docs works without internet.

Swagger UI's files come from the installed flask-swagger-ui package (pinned in
requirements.txt) and are served under /api/v1/docs/assets/; flask-smorest's
page points there through OPENAPI_SWAGGER_UI_URL. Its page starts Swagger UI
with an inline script, which a content security policy without
'unsafe-inline' refuses, so app/templates/swagger_ui.html replaces that page
with one that loads swagger-initializer.js from here instead.
"""
import importlib.resources
from pathlib import Path

from flask import Blueprint, send_from_directory

SWAGGER_UI_FILES = importlib.resources.files("flask_swagger_ui") / "dist"
HERE = Path(__file__).parent

blp = Blueprint("docs", __name__, url_prefix="/api/v1/docs", static_folder=str(SWAGGER_UI_FILES),
                static_url_path="/assets")


@blp.get("/swagger-initializer.js")
def swagger_initializer():
    return send_from_directory(HERE, "swagger-initializer.js", mimetype="text/javascript")
