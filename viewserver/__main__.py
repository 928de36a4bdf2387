"""``couchnet-viewserver``: the query server for ``"language": "python"``.

Register it on every CouchDB node with
``COUCHDB_QUERY_SERVER_PYTHON=/path/to/couchnet-viewserver``. It speaks
CouchDB's line protocol on stdin/stdout and is quiet unless asked to log.
"""

import sys
from types import SimpleNamespace

from . import __version__, diagnostics
from .protocol import serve_stdio


def parse_args(argv: list[str] | None) -> SimpleNamespace:
    """The options: ``debug`` and ``log_file``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        # How CouchDB starts it; loading argparse would slow every start-up.
        return SimpleNamespace(debug=False, log_file=None)
    import argparse

    parser = argparse.ArgumentParser(
        prog="couchnet-viewserver",
        description="CouchDB query server for design functions written in Python.",
        epilog="example: COUCHDB_QUERY_SERVER_PYTHON=$(which couchnet-viewserver)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="log every command to stderr (or the file)"
    )
    parser.add_argument(
        "--log-file", metavar="PATH", help="write diagnostics to PATH ('-' for stderr)"
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    return SimpleNamespace(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> None:
    """Serve CouchDB on stdin/stdout; exit 0 at end of input, 1 after a failure."""
    args = parse_args(argv)
    try:
        diagnostics.enable(args.debug, args.log_file)
    except OSError as exc:
        print(f"Error: cannot log to {args.log_file}: {exc.strerror}", file=sys.stderr)
        sys.exit(1)
    try:
        status = serve_stdio()
    except (BrokenPipeError, KeyboardInterrupt):
        status = 1  # CouchDB went away or the process was interrupted
    sys.exit(status)


if __name__ == "__main__":
    main()
