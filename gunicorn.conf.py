"""gunicorn settings for `gunicorn wsgi:app` (and `make run`), overridable from the environment."""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# The app writes one JSON line per request itself (octeth_domains/logs.py); gunicorn's own access
# log is off unless asked for, and then prints the path without the query string: legacy clients
# send APIKey and Password there, and an access log is no place for credentials.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
