"""A server to talk to: COUCHDB_URL when set, otherwise devcouch started here;
and the couchnet command line run against it in a process of its own."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from loader.client import split_credentials

ADMIN = "admin"
# The couchnet command line of this checkout, whether or not it is installed.
COUCHNET = [sys.executable, "-c", "from loader.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(
    url: str, proc: subprocess.Popen, log: Path, seconds: float = 30
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"devcouch exited early:\n{log_tail(log)}")
        try:
            if requests.get(f"{url}/_up", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"devcouch did not answer within {seconds:.0f} s:\n{log_tail(log)}"
    )


def log_tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def start_devcouch(
    data: Path,
    password: str,
    *options: str,
    env: dict | None = None,
    log: Path | None = None,
) -> tuple[subprocess.Popen, str]:
    """Start devcouch on a free loopback port: (process, URL with credentials).

    Its log goes to `log` (default: devcouch.log in `data`); started again on
    the same `data`, it finds the same databases.
    """
    data.mkdir(parents=True, exist_ok=True)
    log = log or data / "devcouch.log"
    port = free_port()
    command = [sys.executable, "-m", "devcouch", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--data", str(data)]
    command += ["--admin", f"{ADMIN}:{password}", *options]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc, log)
    except RuntimeError:
        stop(proc)
        raise
    return proc, f"http://{ADMIN}:{password}@127.0.0.1:{port}"


def stop(proc: subprocess.Popen) -> None:
    """Ask a server to stop; kill it when it does not within ten seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def devcouch(data: Path, password: str | None = None, *options: str) -> Iterator[str]:
    """Run devcouch on a free loopback port; yields its URL with credentials."""
    proc, url = start_devcouch(data, password or secrets.token_hex(8), *options)
    try:
        yield url
    finally:
        stop(proc)


@contextmanager
def server(data: Path, password: str | None = None, *options: str) -> Iterator[str]:
    """COUCHDB_URL when it is set, else a devcouch keeping its files in `data`."""
    external = external_url()
    if external:
        yield external
        return
    with devcouch(data, password, *options) as url:
        yield url


def external_url() -> str | None:
    """COUCHDB_URL, with COUCHDB_USER and COUCHDB_PASSWORD put in when given."""
    url = os.environ.get("COUCHDB_URL")
    user = os.environ.get("COUCHDB_USER")
    if not url or not user or urlsplit(url).username:
        return url
    password = os.environ.get("COUCHDB_PASSWORD", "")
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


def public_url(url: str) -> str:
    """The URL without its credentials, fit to print."""
    return split_credentials(url)[0]


def run_couchnet(
    url: str, db: str, *args: str, timeout: float | None = None
) -> subprocess.CompletedProcess:
    """Run `couchnet *args` on `db` in a process of its own; RuntimeError if it fails.

    The URL goes in through the environment, so that no error shows its password.
    """
    env = dict(os.environ, COUCHDB_URL=url, COUCHNET_DB=db)
    done = subprocess.run(
        [*COUCHNET, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        raise RuntimeError(f"couchnet {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def push_designs(url: str, db: str) -> str:
    """Run `couchnet push` for the project's design documents; its output."""
    return run_couchnet(url, db, "push", timeout=120).stdout
