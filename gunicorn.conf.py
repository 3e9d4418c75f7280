"""gunicorn settings for `gunicorn wsgi:app` (and `make run`), overridable from the environment."""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8080")
# Four processes of four threads: threads let a worker wait on DNS lookups and provider APIs, but
# many threads in one process spend CPU handing the GIL around (on the benchmark's two cores 4 x 4
# served 5-10 % more than 2 x 8: bench/README.md). A fixed number rather than one per core:
# os.cpu_count() sees the host's cores, not a container's share of them.
workers = int(os.environ.get("GUNICORN_WORKERS") or 4)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# How many connections one worker holds, kept-alive ones included: its threads and one more.
# gthread accepts up to 1,000 by default, and a connection stays with the worker that accepted
# it: one worker could hold more connections than it has threads, their requests waiting behind
# a slow verify while other workers idle (gunicorn issues #908, #3433). With threads + 1, a
# connection a worker cannot serve waits in the listen queue for whichever worker frees first,
# and each worker keeps at most one idle connection alive (gthread's worker_connections -
# threads); others are answered with "Connection: close". On the benchmark's sixteen kept-alive
# connections an uncached verify's p50 went from 126 to 91 ms, a get's from 12.2 to 10.5 ms.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS") or threads + 1)
# gunicorn's gthread, with a Ctrl-C that cannot hang a worker (octeth_domains/worker.py says why).
worker_class = "octeth_domains.worker.ThreadWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# The app writes one JSON line per request itself (octeth_domains/logs.py); gunicorn's own access
# log is off unless asked for, and then prints the path without the query string: legacy clients
# send APIKey and Password there, and an access log is no place for credentials.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# gunicorn 25.1+ opens a control socket for `gunicornc` at one path per user account
# ($HOME/.gunicorn/gunicorn.ctl): a second instance on the machine takes it over, and the first to
# stop removes the other's. Off unless GUNICORN_CONTROL_SOCKET names a path for this instance.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or "gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")


def on_starting(server):
    # Without Redis the rate limit and the sign-in lockout are counted in each process's memory:
    # n workers would let n times every limit through. One worker, or Redis for the counts.
    from octeth_domains.api.limits import counts_are_shared

    if server.cfg.workers > 1 and not counts_are_shared(os.environ):
        server.log.error(
            "refusing to start %d workers without Redis: the rate limit and the sign-in lockout"
            " would be counted per process, %d times over. Set OCTETH_REDIS_URL (shared counts)"
            " or GUNICORN_WORKERS=1.", server.cfg.workers, server.cfg.workers)
        raise SystemExit(1)
