"""The WSGI entry point: ``gunicorn wsgi:app`` from the repository root."""
from octeth_domains import create_app

app = create_app()
