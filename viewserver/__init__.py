"""couchnet's CouchDB query server for design functions written in Python.

Run it as ``couchnet-viewserver`` (or ``python -m viewserver``); other code may
use :func:`viewserver.compiler.compile_function` to check a function's source.
"""

__version__ = "0.1.0"
