"""Databases kept in SQLite: one folder per database, WAL, fsync on commit.

A document's current revision lives in `docs`; older revisions move to
`revs`, so `?rev=` and `_revisions` keep working. `seq` is the update
sequence: a document holds the seq of its latest write, which makes
`_changes` a range scan.
"""

import hashlib
import queue
import re
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import orjson

from .errors import CouchError, bad_request, conflict, not_found

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    id TEXT PRIMARY KEY, rev TEXT NOT NULL, parent TEXT, deleted INTEGER NOT NULL,
    seq INTEGER NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS docs_by_seq ON docs (seq);
CREATE TABLE IF NOT EXISTS revs (
    id TEXT NOT NULL, rev TEXT NOT NULL, parent TEXT, deleted INTEGER NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (id, rev)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS local_docs (
    id TEXT PRIMARY KEY, rev TEXT NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

DB_NAME = re.compile(r"^[a-z][a-z0-9_$()+/-]*$")
SYSTEM_DBS = {"_users", "_replicator", "_global_changes"}
DB_NAME_RULES = (
    "Only lowercase characters (a-z), digits (0-9), and any of the characters"
    " _, $, (, ), +, -, and / are allowed. Must begin with a letter."
)
# Bodies of this many older revisions of a document stay readable by ?rev=;
# older ones are dropped every so many writes, revision ids kept.
BODIES_KEPT = 20
# CouchDB 3.x makes a new database admin-only until its _security changes.
ADMIN_ONLY = {"members": {"roles": ["_admin"]}, "admins": {"roles": ["_admin"]}}


def check_db_name(name: str) -> None:
    if name in SYSTEM_DBS or (DB_NAME.match(name) and len(name) <= 238):
        return
    raise CouchError(400, "illegal_database_name", f"Name: '{name}'. {DB_NAME_RULES}")


def connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def new_rev(pos: int, parent: str | None, deleted: bool, body: str) -> str:
    digest = hashlib.md5(f"{parent}|{int(deleted)}|{body}".encode()).hexdigest()
    return f"{pos}-{digest}"


def rev_pos(rev: str) -> int:
    return int(rev.split("-", 1)[0])


def doc_json(doc_id: str, rev: str, body: str, deleted: bool = False) -> str:
    """A document's JSON text from its stored parts, without parsing the body."""
    head = '{"_id":' + orjson.dumps(doc_id).decode() + ',"_rev":"' + rev + '"'
    if deleted:
        head += ',"_deleted":true'
    return head + ("}" if body == "{}" else "," + body[1:])


@dataclass
class Edit:
    """One document write: the revision it replaces and its new body."""

    id: str
    rev: str | None
    deleted: bool
    body: str
    new_rev: str | None = None
    error: CouchError | None = None


class Database:
    """One CouchDB database in its own folder."""

    def __init__(self, name: str, folder: Path):
        self.name = name
        self.folder = folder
        self.path = folder / "db.sqlite"
        self.write_lock = threading.Lock()
        self.changed = threading.Condition()
        self.readers: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = False
        self.writer = connect(self.path)
        self.writer.executescript(SCHEMA)
        self._recount()
        self._security = None
        self.views = None  # set by the view module on first use

    def _scalar(self, sql: str, args=()):
        with self.reader() as conn:
            row = conn.execute(sql, args).fetchone()
        return row[0] if row else None

    @contextmanager
    def reader(self):
        """A connection for reading, from a small per-database pool."""
        if self.closed:  # deleted while a request was on its way
            raise not_found("Database does not exist.")
        try:
            conn = self.readers.get_nowait()
        except queue.Empty:
            conn = connect(self.path)
        try:
            yield conn
        finally:
            if conn.in_transaction:  # a stream the client left half read
                conn.rollback()
            if self.closed:
                conn.close()
            else:
                self.readers.put(conn)

    def close(self) -> None:
        self.closed = True
        self.drop_indexes_except(set(), delete_files=False)
        with self.write_lock:
            self.writer.close()
        while True:
            try:
                self.readers.get_nowait().close()
            except queue.Empty:
                break
        with self.changed:
            self.changed.notify_all()

    def drop_indexes_except(self, live: set[str], delete_files: bool = True) -> None:
        """Close (and delete) view indexes whose signature is not in `live`."""
        with self.write_lock:
            groups = self.views or {}
            for sig in [s for s in groups if s not in live]:
                groups.pop(sig).close()
        if delete_files:
            for path in self.folder.glob("view_*.sqlite*"):
                if path.name.split(".")[0].removeprefix("view_") not in live:
                    path.unlink(missing_ok=True)

    # -- metadata -------------------------------------------------------

    def get_meta(self, key: str, default=None):
        value = self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else orjson.loads(value)

    def set_meta(self, key: str, value) -> None:
        with self.write_lock:
            self.writer.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, orjson.dumps(value))
            )
            self._security = None

    def security(self) -> dict:
        # Asked on every request, changed rarely: kept in memory.
        if self._security is None:
            self._security = self.get_meta("security", ADMIN_ONLY)
        return self._security

    def _recount(self) -> None:
        with self.reader() as conn:
            self.update_seq, self.doc_count, self.del_count = conn.execute(
                "SELECT coalesce(max(seq), 0), count(*) - coalesce(sum(deleted), 0),"
                " coalesce(sum(deleted), 0) FROM docs"
            ).fetchone()

    def _tally(self, was_deleted: bool | None, deleted: bool) -> None:
        """Keep doc_count and del_count in step with one write."""
        if was_deleted is not None:
            self.del_count -= was_deleted
            self.doc_count -= not was_deleted
        self.del_count += deleted
        self.doc_count += not deleted

    def info(self) -> dict:
        counts = (self.doc_count, self.del_count)
        size = sum(p.stat().st_size for p in self.folder.glob("db.sqlite*"))
        return {
            "db_name": self.name,
            "purge_seq": "0",
            "update_seq": format_seq(self.update_seq),
            "sizes": {"file": size, "external": size, "active": size},
            "props": {},
            "doc_del_count": counts[1],
            "doc_count": counts[0],
            "disk_format_version": 8,
            "compact_running": False,
            "cluster": {"q": 1, "n": 1, "w": 1, "r": 1},
            "instance_start_time": "0",
        }

    # -- reading documents ----------------------------------------------

    def current(self, doc_id: str):
        """(rev, deleted, body) of a document's current revision, or None."""
        with self.reader() as conn:
            return conn.execute(
                "SELECT rev, deleted, body FROM docs WHERE id = ?", (doc_id,)
            ).fetchone()

    def revision(self, doc_id: str, rev: str):
        """(rev, deleted, body) of one revision, current or older, or None."""
        found = self.current(doc_id)
        if found and found[0] == rev:
            return found
        with self.reader() as conn:
            return conn.execute(
                "SELECT rev, deleted, body FROM revs WHERE id = ? AND rev = ?"
                " AND body != ''",
                (doc_id, rev),
            ).fetchone()

    def history(self, doc_id: str, rev: str) -> list[str]:
        """Revision ids from `rev` back to the first, newest first."""
        chain = [rev]
        with self.reader() as conn:
            while chain[-1]:
                row = conn.execute(
                    "SELECT parent FROM docs WHERE id = ? AND rev = ? UNION ALL"
                    " SELECT parent FROM revs WHERE id = ? AND rev = ?",
                    (doc_id, chain[-1], doc_id, chain[-1]),
                ).fetchone()
                chain.append(row[0] if row else None)
        return chain[:-1]

    def get(self, doc_id: str) -> dict | None:
        """The current, live revision of a document as a dict, or None."""
        found = self.current(doc_id)
        if not found or found[1]:
            return None
        return orjson.loads(doc_json(doc_id, found[0], found[2]))

    def design_docs(self) -> list[dict]:
        with self.reader() as conn:
            rows = conn.execute(
                "SELECT id, rev, body FROM docs WHERE id >= '_design/'"
                " AND id < '_design0' AND NOT deleted ORDER BY id"
            ).fetchall()
        return [orjson.loads(doc_json(*row)) for row in rows]

    # -- writing documents ----------------------------------------------

    def write(self, edits: list[Edit]) -> list[Edit]:
        """Apply edits in one transaction; each gets a new_rev or an error."""
        with self.write_lock:
            if self.closed:
                raise not_found("Database does not exist.")
            conn = self.writer
            conn.execute("BEGIN IMMEDIATE")
            seq = self.update_seq
            try:
                for edit in edits:
                    if edit.error is None:
                        seq = self._apply(conn, edit, seq)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self._recount()
                raise
            # Only now may readers and waiters see the new sequence.
            with self.changed:
                self.update_seq = seq
                self.changed.notify_all()
        return edits

    def _apply(self, conn: sqlite3.Connection, edit: Edit, seq: int) -> int:
        """Write one edit at sequence seq + 1, or mark it a conflict; the seq."""
        row = conn.execute(
            "SELECT rev, parent, deleted, body FROM docs WHERE id = ?", (edit.id,)
        ).fetchone()
        if not self._rev_matches(row, edit):
            edit.error = conflict()
            return seq
        parent = row[0] if row else None
        pos = rev_pos(parent) + 1 if parent else 1
        edit.new_rev = new_rev(pos, parent, edit.deleted, edit.body)
        seq += 1
        self._tally(bool(row[2]) if row else None, edit.deleted)
        if row:
            conn.execute(
                "INSERT OR REPLACE INTO revs VALUES (?, ?, ?, ?, ?)", (edit.id, *row)
            )
            if pos % BODIES_KEPT == 0:
                self._compact(conn, edit.id, pos - BODIES_KEPT)
        conn.execute(
            "INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?)",
            (
                edit.id,
                edit.new_rev,
                parent,
                int(edit.deleted),
                seq,
                edit.body,
            ),
        )
        return seq

    @staticmethod
    def _compact(conn: sqlite3.Connection, doc_id: str, below: int) -> None:
        # As CouchDB's compaction does, old bodies go and the revision ids
        # stay: `?rev=` of such a revision is then `missing`.
        conn.execute(
            "UPDATE revs SET body = '' WHERE id = ? AND body != ''"
            " AND CAST(substr(rev, 1, instr(rev, '-') - 1) AS INTEGER) < ?",
            (doc_id, below),
        )

    @staticmethod
    def _rev_matches(row, edit: Edit) -> bool:
        if row is None:
            return edit.rev is None
        if edit.rev is None:
            return bool(row[2])  # a deleted document may be written anew
        return edit.rev == row[0]

    # -- _local documents -----------------------------------------------

    def get_local(self, doc_id: str):
        with self.reader() as conn:
            return conn.execute(
                "SELECT rev, body FROM local_docs WHERE id = ?", (doc_id,)
            ).fetchone()

    def put_local(self, doc_id: str, rev: str | None, body: str | None) -> str:
        """Write (or with body None delete) a _local document; its new rev."""
        with self.write_lock:
            row = self.writer.execute(
                "SELECT rev FROM local_docs WHERE id = ?", (doc_id,)
            ).fetchone()
            if row is None and body is None:
                raise not_found("missing")
            if row is not None and rev != row[0]:
                raise conflict()
            if body is None:
                self.writer.execute("DELETE FROM local_docs WHERE id = ?", (doc_id,))
                return "0-0"
            count = int(row[0].split("-")[1]) + 1 if row else 1
            self.writer.execute(
                "INSERT OR REPLACE INTO local_docs VALUES (?, ?, ?)",
                (doc_id, f"0-{count}", body),
            )
            return f"0-{count}"

    # -- waiting for changes ------------------------------------------------

    def wait_for_change(self, since: int, seconds: float) -> bool:
        """Block until update_seq passes `since`; False on timeout."""
        deadline = time.monotonic() + seconds
        with self.changed:
            while self.update_seq <= since and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return self.update_seq > since


def format_seq(seq: int) -> str:
    """An opaque sequence string shaped like a clustered CouchDB's."""
    return f"{seq}-g1AAAA{seq:x}"


def parse_seq(value) -> int:
    if value in (None, "", 0, "0"):
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(str(value).split("-", 1)[0])
    except ValueError:
        raise bad_request(f"Invalid since seq: {value}") from None


class Server:
    """All databases under one data folder."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.open_dbs: dict[str, Database] = {}

    def folder(self, name: str) -> Path:
        return self.data_dir / (quote(name, safe="_$()+-") + ".couch")

    def all_dbs(self) -> list[str]:
        folders = self.data_dir.glob("*.couch/db.sqlite")
        return sorted(unquote(p.parent.name.removesuffix(".couch")) for p in folders)

    def get(self, name: str) -> Database:
        with self.lock:
            db = self.open_dbs.get(name)
            if db is None:
                folder = self.folder(name)
                if not (folder / "db.sqlite").exists():
                    raise not_found("Database does not exist.")
                db = self.open_dbs[name] = Database(name, folder)
            return db

    def create(self, name: str) -> Database:
        check_db_name(name)
        with self.lock:
            folder = self.folder(name)
            if (folder / "db.sqlite").exists():
                raise CouchError(
                    412,
                    "file_exists",
                    "The database could not be created, the file already exists.",
                )
            folder.mkdir(parents=True, exist_ok=True)
            db = self.open_dbs[name] = Database(name, folder)
            return db

    def delete(self, name: str) -> None:
        with self.lock:
            folder = self.folder(name)
            if not (folder / "db.sqlite").exists():
                raise not_found("Database does not exist.")
            db = self.open_dbs.pop(name, None)
            if db is not None:
                db.close()
            trash = folder.with_name(folder.name + f".deleted{time.time_ns()}")
            folder.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
