"""devcouch: a single-node CouchDB-compatible server for development and tests.

Example:
    devcouch --port 5984 --data ./data/devcouch --admin admin:secret
"""

import argparse
import errno
import logging
import os
import shlex
import socket
import sys
import tempfile
from pathlib import Path

import uvicorn

from .app import build

log = logging.getLogger("devcouch")


def env(name: str, default=None):
    return os.environ.get(f"DEVCOUCH_{name}", default)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="devcouch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--host",
        default=env("HOST", "127.0.0.1"),
        help="address to bind [$DEVCOUCH_HOST]",
    )
    add(
        "--port",
        type=int,
        default=env("PORT", "5984"),
        help="port to listen on [$DEVCOUCH_PORT]",
    )
    add(
        "--data",
        default=env("DATA", "data/devcouch"),
        help="data folder [$DEVCOUCH_DATA]",
    )
    add(
        "--admin",
        default=env("ADMIN"),
        help="USER:PASSWORD of the admin [$DEVCOUCH_ADMIN]",
    )
    add(
        "--query-server",
        default=env("QUERY_SERVER", f"{shlex.quote(sys.executable)} -m viewserver"),
        help="command of the Python query server [$DEVCOUCH_QUERY_SERVER]",
    )
    add(
        "--os-process-timeout",
        type=int,
        default=env("OS_PROCESS_TIMEOUT", "5000"),
        help="ms a query server may take to answer [$DEVCOUCH_OS_PROCESS_TIMEOUT]",
    )
    add(
        "--reduce-limit",
        choices=["true", "false", "log"],
        default=env("REDUCE_LIMIT", "true"),
        help="reduce_limit sent to query servers [$DEVCOUCH_REDUCE_LIMIT]",
    )
    add(
        "--query-servers",
        type=int,
        default=env("QUERY_SERVERS", "4"),
        help="most query server processes at once [$DEVCOUCH_QUERY_SERVERS]",
    )
    add("--quiet", action="store_true", help="log only warnings and errors")
    return parser.parse_args(argv)


def fail(message: str, status: int = 1) -> None:
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(status)


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is already in use")
            fail(f"cannot listen on {host}:{port}: {error.strerror}")


def check_data_dir(data: Path) -> None:
    try:
        data.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data):
            pass
    except OSError as error:
        fail(f"the data folder {data} is not writable: {error.strerror}")


def admin_of(value: str | None) -> tuple[str, str]:
    if not value or ":" not in value:
        fail("an admin is needed: --admin USER:PASSWORD (or $DEVCOUCH_ADMIN)", 2)
    name, _, password = value.partition(":")
    return name, password


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="[%(asctime)s] %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    admin = admin_of(args.admin)
    data = Path(args.data)
    check_data_dir(data)
    check_port(args.host, args.port)
    config = {"reduce_limit": reduce_limit(args.reduce_limit)}
    config["timeout"] = args.os_process_timeout
    command = shlex.split(args.query_server)
    app = build(data, admin, command, config, processes=args.query_servers)
    log.info("devcouch on http://%s:%d, data in %s", args.host, args.port, data)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", **fast_http())


def reduce_limit(value: str):
    return {"true": True, "false": False}.get(value, value)


def fast_http() -> dict:
    """uvloop and httptools when installed; uvicorn's defaults otherwise."""
    options = {"access_log": False}
    try:
        import uvloop  # noqa: F401

        options["loop"] = "uvloop"
    except ImportError:
        pass
    try:
        import httptools  # noqa: F401

        options["http"] = "httptools"
    except ImportError:
        pass
    return options


if __name__ == "__main__":
    main()
