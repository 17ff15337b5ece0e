"""WSGI entry point (``gunicorn -c gunicorn.conf.py run:app``) and the development server."""
from app import create_app

app = create_app()

if __name__ == "__main__":
    app.run(host=app.config["API_HOST"], port=app.config["API_PORT"], debug=False, threaded=True)
