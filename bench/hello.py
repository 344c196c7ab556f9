"""The baseline for bench/signup.py: the smallest Flask app, served by the same gunicorn settings."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
