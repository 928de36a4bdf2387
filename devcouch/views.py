"""View indexes: one SQLite file per design doc signature, kept up to date
from the database's update sequence.

Each emitted row is stored with its binary collation key, so that ranges and
ordering are done by SQLite's index, and with its key and value as JSON text,
so that rows are streamed without decoding them.
"""

import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import orjson

from .collation import sort_key
from .design import views_of
from .documents import require_python
from .errors import QueryServerError, not_found
from .storage import Database, connect, doc_json

log = logging.getLogger("devcouch.views")
BATCH = 2000

# Part of every signature: a new layout of the index files builds new ones.
INDEX_FORMAT = 2
INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    view INTEGER NOT NULL, sk BLOB NOT NULL, docid TEXT NOT NULL, n INTEGER NOT NULL,
    key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (view, sk, docid, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS back (docid TEXT PRIMARY KEY, entries BLOB NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counts (view INTEGER PRIMARY KEY, total INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def signature(ddoc: dict) -> str:
    """Changes whenever anything that shapes the index changes."""
    parts = {
        "index_format": INDEX_FORMAT,
        "language": ddoc.get("language"),
        "views": ddoc.get("views", {}),
        "options": ddoc.get("options", {}),
    }
    return hashlib.md5(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


class ViewGroup:
    """The index of all views of one design doc (one map per distinct source)."""

    def __init__(self, db: Database, ddoc: dict):
        self.db = db
        self.ddoc_id = ddoc["_id"]
        self.views = views_of(ddoc)
        self.lib = ddoc.get("views", {}).get("lib")
        self.include_design = bool(ddoc.get("options", {}).get("include_design"))
        self.map_sources = list(dict.fromkeys(v["map"] for v in self.views.values()))
        self.path = db.folder / f"view_{signature(ddoc)}.sqlite"
        self.lock = threading.Lock()
        self.writer = self._connect()
        # Rows land all over the b-tree: a large page cache saves rereading.
        self.writer.execute("PRAGMA cache_size = -65536")
        self.writer.executescript(INDEX_SCHEMA)
        self.seq = int(self._meta("update_seq", 0))

    def _connect(self):
        conn = connect(self.path, synchronous="NORMAL")
        conn.execute("ATTACH DATABASE ? AS src", (str(self.db.path),))
        return conn

    def _meta(self, key: str, default):
        row = self.writer.execute("SELECT value FROM meta WHERE key = ?", (key,))
        found = row.fetchone()
        return found[0] if found else default

    def view_number(self, name: str) -> int:
        view = self.views.get(name)
        if view is None:
            raise not_found("missing_named_view")
        return self.map_sources.index(view["map"])

    def reduce_source(self, name: str) -> str | None:
        return self.views[name].get("reduce")

    def total_rows(self, conn, view: int) -> int:
        row = conn.execute("SELECT total FROM counts WHERE view = ?", (view,))
        found = row.fetchone()
        return found[0] if found else 0

    @contextmanager
    def reader(self):
        """A read connection to the index, opened for one query."""
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    # -- keeping the index up to date ----------------------------------------

    def refresh(self, pool) -> None:
        """Map every document changed since the index was last brought up."""
        with self.lock:
            if self.seq >= self.db.update_seq:
                return
            with pool.checkout() as proc, ThreadPoolExecutor(1) as mapper:
                self._learn(proc)
                self._index_all(proc, mapper)

    def _index_all(self, proc, mapper: ThreadPoolExecutor) -> None:
        """Map batch after batch, the next one mapped while this one is stored."""
        changes = self._changes_since(self.seq)
        mapping = mapper.submit(self._map, proc, changes)
        while changes:
            mapped, replies = mapping.result()
            following = self._changes_since(changes[-1][4])
            if following:
                mapping = mapper.submit(self._map, proc, following)
            self._index(changes, mapped, replies)
            changes = following

    def _learn(self, proc) -> None:
        if isinstance(self.lib, dict):
            proc.call(["add_lib", self.lib])
        for source in self.map_sources:
            proc.call(["add_fun", source])

    def _changes_since(self, seq: int) -> list:
        with self.db.reader() as conn:
            return conn.execute(
                "SELECT id, rev, deleted, body, seq FROM docs WHERE seq > ?"
                " ORDER BY seq LIMIT ?",
                (seq, BATCH),
            ).fetchall()

    def _map(self, proc, changes: list) -> tuple[list, list]:
        """The changes that are mapped, and the query server's replies."""
        mapped = [c for c in changes if not c[2] and self._indexes(c[0])]
        commands = [["map_doc", orjson.Fragment(doc_text(c))] for c in mapped]
        return mapped, proc.call_many(commands) if commands else []

    def _index(self, changes: list, mapped: list, replies: list) -> None:
        rows = []
        for change, reply in zip(mapped, replies, strict=True):
            rows.extend(self._rows_of(change[0], reply))
        self._store([c[0] for c in changes], rows, changes[-1][4])

    def _indexes(self, doc_id: str) -> bool:
        if doc_id.startswith("_design/"):
            return self.include_design
        return True

    def _rows_of(self, doc_id: str, reply) -> list[tuple]:
        if isinstance(reply, QueryServerError):
            log.error("map_doc failed for %s: %s", doc_id, reply.reason)
            return []
        dumps = orjson.dumps
        rows = []
        for view, emitted in enumerate(reply):
            for n, (key, value) in enumerate(emitted):
                rows.append((view, sort_key(key), doc_id, n, dumps(key), dumps(value)))
        return rows

    def _store(self, doc_ids: list[str], rows: list[tuple], seq: int) -> None:
        conn = self.writer
        conn.execute("BEGIN")
        try:
            if self.seq > 0:
                self._forget(conn, doc_ids)
            conn.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?)", rows)
            conn.executemany("INSERT INTO back VALUES (?, ?)", back_entries(rows))
            added: dict[int, int] = {}
            for row in rows:
                added[row[0]] = added.get(row[0], 0) + 1
            self._count(conn, added)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('update_seq', ?)", (seq,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.seq = seq

    def _forget(self, conn, doc_ids: list[str]) -> None:
        """Remove the rows the documents emitted before, found by `back`."""
        ids = orjson.dumps(doc_ids).decode()
        found = conn.execute(
            "SELECT docid, entries FROM back WHERE docid IN"
            " (SELECT value FROM json_each(?))",
            (ids,),
        ).fetchall()
        keys, removed = [], {}
        for doc_id, entries in found:
            for view, sk, n in orjson.loads(entries):
                keys.append((view, bytes.fromhex(sk), doc_id, n))
                removed[view] = removed.get(view, 0) - 1
        conn.executemany(
            "DELETE FROM rows WHERE view = ? AND sk = ? AND docid = ? AND n = ?", keys
        )
        conn.execute(
            "DELETE FROM back WHERE docid IN (SELECT value FROM json_each(?))", (ids,)
        )
        self._count(conn, removed)

    @staticmethod
    def _count(conn, deltas: dict[int, int]) -> None:
        for view, delta in deltas.items():
            conn.execute(
                "INSERT INTO counts VALUES (?, ?)"
                " ON CONFLICT (view) DO UPDATE SET total = total + excluded.total",
                (view, delta),
            )

    def close(self) -> None:
        with self.lock:
            self.writer.close()


def back_entries(rows: list[tuple]):
    """(docid, [[view, sort key in hex, n], ...]) for each document's rows."""
    by_doc: dict[str, list] = {}
    for view, sk, doc_id, n, _, _ in rows:
        by_doc.setdefault(doc_id, []).append([view, sk.hex(), n])
    return ((doc_id, orjson.dumps(entries)) for doc_id, entries in by_doc.items())


def doc_text(change) -> str:
    doc_id, rev, deleted, body, _ = change
    return doc_json(doc_id, rev, body, bool(deleted))


def group_for(db: Database, ddoc_id: str) -> tuple[dict, ViewGroup]:
    """The design doc and the view group that indexes it."""
    ddoc = db.get(ddoc_id)
    if ddoc is None:
        raise not_found("missing")
    require_python_if_views(ddoc)
    if db.views is None:
        db.views = {}
    key = signature(ddoc)
    group = db.views.get(key)
    if group is None:
        with db.write_lock:
            group = db.views.get(key)
            if group is None:
                group = db.views[key] = ViewGroup(db, ddoc)
    return ddoc, group


def require_python_if_views(ddoc: dict) -> None:
    if views_of(ddoc):
        require_python(ddoc)
