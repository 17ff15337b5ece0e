"""The real app plus a bare hello endpoint, served by gunicorn for bench/read_path.py only."""
from app import create_app

app = create_app()


@app.get("/bench/hello")
def hello():
    return {"hello": "world"}
