"""Real servers the tests start and stop: the app under gunicorn, and a MariaDB of its own."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from helpers import free_port

REPO = Path(__file__).resolve().parent.parent


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout} s")


def shipped_gunicorn(instance: Path, **env: str) -> tuple[subprocess.Popen, int]:
    """``gunicorn -c gunicorn.conf.py wsgi:app`` with the repository's settings and only ``env``
    on top of a clean environment (no OCTETH_, GUNICORN_ or RATELIMIT_ variables of the caller's),
    on a free port; started, not waited for (it may be meant to refuse to start)."""
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith(("OCTETH_", "GUNICORN_", "RATELIMIT_"))}
    port = free_port()
    clean.update(OCTETH_INSTANCE_PATH=str(instance), GUNICORN_BIND=f"127.0.0.1:{port}", **env)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                               cwd=REPO, env=clean, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, port


def first_answer(process: subprocess.Popen, port: int, timeout: float = 30) -> requests.Response:
    """The answer to ``GET /api.php`` once the server listens; its output if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, process.stdout.read()
        try:
            # Not kept alive: a test that counts the server's connections starts from none.
            return requests.get(f"http://127.0.0.1:{port}/api.php", timeout=15, headers={"Connection": "close"})
        except requests.ConnectionError:
            assert time.monotonic() < deadline, f"gunicorn did not answer within {timeout} s"
            time.sleep(0.1)


class AppProcess:
    """The service under gunicorn in a process of its own, as production runs it."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--threads", "4", "wsgi:app"],
            cwd=REPO, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT,
        )
        try:
            _wait(self._answers, 20, "gunicorn")
        except BaseException:
            self.stop()  # a server that never came up must not outlive the test
            raise

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
        try:
            requests.get(self.url + "/api.php", timeout=2)
            return True
        except (requests.ConnectionError, requests.Timeout):  # bound, but the worker still booting
            return False

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


class MariaDBServer:
    """A throwaway mariadbd on a free port with its own data directory, so that a test can stop
    and restart it without touching the machine's server. No grant tables: loopback only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.datadir = root / "data"
        self.port = free_port()
        self.url = f"mysql://root@127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("mariadbd") or "/usr/sbin/mariadbd", "--no-defaults", f"--datadir={self.datadir}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.root / 'sock'}",
             f"--pid-file={self.root / 'pid'}", "--user=root", "--skip-grant-tables", "--skip-log-bin",
             f"--log-error={self.root / 'error.log'}", "--innodb-buffer-pool-size=16M"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait(self._answers, 30, "mariadbd")
        except BaseException:
            self.stop()
            raise

    def _answers(self) -> bool:
        import pymysql

        if self.process.poll() is not None:
            raise RuntimeError((self.root / "error.log").read_text()[-2000:])
        try:
            connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1)
        except pymysql.err.OperationalError:
            return False
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@datadir")
            datadir = cursor.fetchone()[0]
        connection.close()
        # Another server that won the race for this port must not pass for ours.
        if Path(datadir).resolve() != self.datadir.resolve():
            raise RuntimeError(f"port {self.port} is held by another MariaDB ({datadir})")
        return True

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class RedisServer:
    """A redis-server of its own on a free port, which a test may stop and start again."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait(self._answers, 10, "redis-server")
        except BaseException:
            self.stop()
            raise

    def _answers(self) -> bool:
        import redis

        if self.process.poll() is not None:
            raise RuntimeError("redis-server exited")
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
