"""scripts/setup: the one set-up step of `make test`, `make bench` and .ci/run.

The machine running the tests already has everything (set-up ran before them), so the branches
for a fresh machine are exercised with --dry-run against a package that is not installed and a
port where nothing answers."""
import os
import subprocess
from pathlib import Path

from helpers import free_port

REPO = Path(__file__).resolve().parent.parent
SETUP = REPO / "scripts" / "setup"
ABSENT = "octeth-no-such-package"


def setup(*args, user=None, **env):
    command = [str(SETUP), *args]
    if user is not None:  # as an ordinary user, through setpriv (util-linux)
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_every_package_the_tests_need_is_listed_once():
    text = SETUP.read_text()
    line = next(line for line in text.splitlines() if line.startswith("PACKAGES="))
    for package in ("pdns-server", "pdns-backend-sqlite3", "chromium", "wrk", "php-cli"):
        assert package in line.split('"')[1].split()


def test_on_a_ready_machine_it_does_nothing():
    result = setup("--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would run" not in result.stdout


def test_as_root_a_missing_package_is_installed_after_one_update():
    result = setup("--dry-run", SETUP_PACKAGES=f"wrk {ABSENT}")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("would run: apt-get")]
    assert lines == ["would run: apt-get update -qq", f"would run: apt-get install -y -qq {ABSENT}"]


def test_as_another_user_it_says_in_one_line_what_to_install():
    result = setup(user=65534, SETUP_PACKAGES=f"wrk {ABSENT} chromium")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"setup: missing system packages; install them with: sudo apt-get install {ABSENT}"]
    assert "apt-get update" not in result.stdout


def test_services_that_do_not_answer_are_started():
    redis_port, mysql_port = free_port(), free_port()
    result = setup("--dry-run", SETUP_REDIS_PORT=str(redis_port), SETUP_MYSQL_PORT=str(mysql_port))
    assert result.returncode == 0, result.stderr
    assert f"would run: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port {redis_port}" in result.stdout
    assert "would run: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd" in result.stdout


def test_make_test_make_bench_and_ci_all_go_through_it():
    for target in ("test", "bench"):
        dry = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, check=True)
        assert "scripts/setup" in dry.stdout, target
    ci = (REPO / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "exec make test" and not any("apt-get" in line for line in commands)
