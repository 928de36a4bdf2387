"""devcouch: a single-node CouchDB-compatible server for development and tests."""

__version__ = "0.1.0"
