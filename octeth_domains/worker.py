"""The gunicorn worker the service runs in (gunicorn.conf.py's ``worker_class``): gunicorn's own
threaded worker, with a quick shutdown that cannot hang.

gthread's SIGQUIT handler (Ctrl-C at the master, which sends SIGQUIT to its workers) calls
``ThreadPoolExecutor.shutdown()`` from the signal handler. When the signal lands while the worker's
main thread is inside ``ThreadPoolExecutor.submit()``, which holds the pool's lock (as it does for
as long as a new thread takes to start, so most often on a worker's first requests), the handler
waits for a lock its own thread holds: the worker never exits, and the master kills it after
``graceful_timeout`` (30 s), "Worker was sent SIGKILL". Seen with gunicorn 27.0.1.

The base worker's quick shutdown is enough: it raises SystemExit in the main thread, which leaves
``submit()`` and its lock, and the interpreter's exit then ends the pool's threads, each after the
request it is answering."""
from __future__ import annotations

from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker as _GunicornThreadWorker


class ThreadWorker(_GunicornThreadWorker):
    def handle_quit(self, sig, frame) -> None:
        Worker.handle_quit(self, sig, frame)
