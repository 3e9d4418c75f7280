"""gunicorn settings for `gunicorn wsgi:app` (and `make run`), overridable from the environment."""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# The path without the query string: legacy clients send APIKey and Password there, and an access
# log is no place for credentials.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
