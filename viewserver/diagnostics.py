"""Diagnostics for whoever runs the server: silent unless switched on.

The ``logging`` module is loaded only when ``--debug`` or ``--log-file`` asks
for it, since CouchDB starts query servers often and quiet is the default.
Code logs through ``diagnostics.log``, looked up at the moment of logging.
"""

import sys


class Quiet:
    """Stands in for a logger while diagnostics are off."""

    def debug(self, *args, **kwargs) -> None:
        pass

    info = error = debug


log = Quiet()
debugging = False  # whether every command is logged


def enable(debug: bool, log_file: str | None) -> None:
    """Log to ``log_file`` ('-' for stderr), or with ``debug`` alone to stderr."""
    if not debug and not log_file:
        return
    import logging

    global log, debugging
    if log_file and log_file != "-":
        handler: logging.Handler = logging.FileHandler(log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("viewserver")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    log, debugging = logger, debug
