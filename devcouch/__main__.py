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


QUERY_SERVER = f"{shlex.quote(sys.executable)} -m viewserver"


def positive_int(text: str) -> int:
    """A count or a time that can work: an integer of at least 1."""
    number = int(text)
    if number < 1:
        raise ValueError(text)
    return number


# flag, metavar, type, default, help; each also read from $DEVCOUCH_<FLAG>.
OPTIONS = [
    ("--host", "ADDRESS", str, "127.0.0.1", "address to bind"),
    ("--port", "PORT", int, "5984", "port to listen on; refuses one that is taken"),
    ("--data", "DIR", str, "data/devcouch", "data folder; must be writable"),
    ("--admin", "USER:PASSWORD", str, None, "the server admin (required)"),
    ("--query-server", "COMMAND", str, QUERY_SERVER, "query server command line"),
    ("--os-process-timeout", "MS", positive_int, "5000", "ms a query server may take"),
    ("--reduce-limit", "{true,false,log}", str, "true", "reduce_limit sent in reset"),
    ("--query-servers", "N", positive_int, "4", "most query server processes at once"),
]


def env_name(flag: str) -> str:
    return "DEVCOUCH_" + flag.removeprefix("--").replace("-", "_").upper()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="devcouch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for flag, metavar, kind, default, text in OPTIONS:
        shown = f"; default {default}" if default is not None else ""
        parser.add_argument(
            flag,
            metavar=metavar,
            type=kind,
            default=os.environ.get(env_name(flag), default),
            choices=["true", "false", "log"] if flag == "--reduce-limit" else None,
            help=f"{text}{shown} [${env_name(flag)}]",
        )
    parser.add_argument(
        "--quiet",
        action="store_true",
        default=os.environ.get("DEVCOUCH_QUIET", "") not in ("", "0", "false"),
        help="log only warnings and errors, not each request [$DEVCOUCH_QUIET=1]",
    )
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
