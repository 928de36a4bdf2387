"""GET/POST /db/_design/ddoc/_view/name: map rows and reductions."""

import logging
import threading

import orjson

from .. import reduce as reducers
from ..collation import sort_key
from ..errors import method_not_allowed
from ..http import Request, query_parse_error, stream_response
from ..query import MISSING, ViewQuery, parse_view_query
from ..rows import rows_stream, view_head
from ..storage import Database, format_seq
from ..views import ViewGroup, group_for

log = logging.getLogger("devcouch.views")

ROW_SQL = """'{"id":' || json_quote(r.docid) || ',"key":' || r.key
    || ',"value":' || r.value"""
DOC_SQL = """CASE WHEN d.id IS NULL OR d.deleted THEN 'null' ELSE
    '{"_id":' || json_quote(d.id) || ',"_rev":"' || d.rev || '"' ||
    CASE d.body WHEN '{}' THEN '}' ELSE ',' || substr(d.body, 2) END END"""


def view(couch, req: Request, db: Database, ddoc_name: str, view_name: str):
    if req.method not in ("GET", "HEAD", "POST"):
        raise method_not_allowed("GET,HEAD,POST")
    q, group, number, reduce_source = open_view(couch, req, db, ddoc_name, view_name)
    update_seq = format_seq(group.seq) if q.update_seq else None
    if reduce_source is not None:
        rows = reduce_rows(couch, group, number, reduce_source, q)
        return stream_response(rows_stream(view_head(None, None, update_seq), rows))
    return stream_response(map_stream(group, number, q, update_seq))


def open_view(couch, req: Request, db: Database, ddoc_name: str, view_name: str):
    """(query, group, view number, reduce source or None when not reducing),
    the index brought up to date as the query asks."""
    q = parse_view_query(req)
    _, group = group_for(db, f"_design/{ddoc_name}")
    number = group.view_number(view_name)
    reduce_source = group.reduce_source(view_name)
    if not check_reduce_use(q, reduce_source):
        reduce_source = None
    bring_up_to_date(couch, group, q.update)
    return q, group, number, reduce_source


def check_reduce_use(q: ViewQuery, reduce_source: str | None) -> bool:
    """Whether to reduce, with CouchDB's errors for what cannot be."""
    if reduce_source is None:
        if q.reduce:
            raise query_parse_error("Reduce is invalid for map-only views.")
        if q.grouped:
            raise query_parse_error("Invalid use of grouping on a map view.")
        return False
    if q.reduce is False:
        return False
    if q.include_docs:
        raise query_parse_error("`include_docs` is invalid for reduce")
    if q.keys is not None and not q.grouped:
        raise query_parse_error(
            "Multi-key fetches for reduce views must use `group=true`"
        )
    return True


def bring_up_to_date(couch, group: ViewGroup, mode: str) -> None:
    if mode == "true":
        group.refresh(couch.pool)
    elif mode == "lazy":
        threading.Thread(
            target=refresh_quietly, args=(couch, group), daemon=True
        ).start()


def refresh_quietly(couch, group: ViewGroup) -> None:
    """update=lazy: nobody waits for this refresh, so its failure is logged."""
    try:
        group.refresh(couch.pool)
    except Exception:
        log.exception("updating the index of %s failed", group.ddoc_id)


# -- map rows ----------------------------------------------------------------


def bounds(q: ViewQuery) -> tuple[list[str], list]:
    """SQL conditions for the requested key range, in the query's direction."""
    start, end = (q.key, q.key) if q.key is not MISSING else (q.start, q.end)
    start_docid = q.start_docid if q.key is MISSING else None
    end_docid = q.end_docid if q.key is MISSING else None
    inclusive = q.inclusive_end or q.key is not MISSING
    where, args = [], []
    if start is not MISSING:
        op = "<=" if q.descending else ">="
        where.append(condition(op, start_docid))
        args += [sort_key(start), start_docid] if start_docid else [sort_key(start)]
    if end is not MISSING:
        op = (">" if q.descending else "<") + ("=" if inclusive else "")
        where.append(condition(op, end_docid))
        args += [sort_key(end), end_docid] if end_docid else [sort_key(end)]
    return where, args


def condition(op: str, docid: str | None) -> str:
    if docid is None:
        # A bare key bound covers every docid under that key.
        return f"r.sk {op} ?"
    return f"(r.sk, r.docid) {op} (?, ?)"


def map_stream(group: ViewGroup, number: int, q: ViewQuery, update_seq):
    """The whole map response, read from one consistent snapshot."""
    with group.reader() as conn:
        conn.execute("BEGIN")
        total = group.total_rows(conn, number)
        if q.keys is not None:
            rows = keys_rows(conn, number, q)
            offset = 0
        else:
            where, args = bounds(q)
            offset = rows_before(conn, number, q, total)
            rows = range_rows(conn, number, q, where, args)
        head = view_head(total, offset, update_seq)
        yield from rows_stream(head, rows)
        conn.execute("COMMIT")


def select_sql(q: ViewQuery, where: list[str]) -> str:
    columns = f"{ROW_SQL}, CAST(r.value AS TEXT)"
    columns += f", {DOC_SQL}" if q.include_docs else ""
    join = " LEFT JOIN src.docs d ON d.id = r.docid" if q.include_docs else ""
    conditions = " AND ".join(["r.view = ?", *where])
    return f"SELECT {columns} FROM rows r{join} WHERE {conditions}" + order_by(q)


def order_by(q: ViewQuery) -> str:
    """The index's order of rows, reversed for `descending`."""
    direction = "DESC" if q.descending else "ASC"
    return f" ORDER BY r.sk {direction}, r.docid {direction}, r.n {direction}"


def range_rows(conn, number: int, q: ViewQuery, where: list[str], args: list):
    sql = select_sql(q, where) + " LIMIT ? OFFSET ?"
    limit = -1 if q.limit is None else q.limit
    cursor = conn.execute(sql, (number, *args, limit, q.skip))
    while batch := cursor.fetchmany(1000):
        yield from finish_rows(conn, batch, q.include_docs)


def keys_rows(conn, number: int, q: ViewQuery):
    sql = select_sql(q, ["r.sk = ?"])
    rows = []
    for key in q.keys:
        batch = conn.execute(sql, (number, sort_key(key))).fetchall()
        rows.extend(finish_rows(conn, batch, q.include_docs))
    end = None if q.limit is None else q.skip + q.limit
    return rows[q.skip : end]


def finish_rows(conn, batch: list, include_docs: bool) -> list[str]:
    if not include_docs:
        return [row[0] + "}" for row in batch]
    return [
        prefix + ',"doc":' + doc_for(conn, value, doc) + "}"
        for prefix, value, doc in batch
    ]


def doc_for(conn, value: str, doc: str) -> str:
    """The row's document, or the one its value links to with `_id`."""
    if not (value.startswith("{") and '"_id"' in value):
        return doc
    linked = orjson.loads(value)
    if not isinstance(linked.get("_id"), str):
        return doc
    found = conn.execute(
        f"SELECT {DOC_SQL} FROM src.docs d WHERE d.id = ?", (linked["_id"],)
    ).fetchone()
    return found[0] if found else "null"


def rows_before(conn, number: int, q: ViewQuery, total: int) -> int:
    """CouchDB's `offset`: rows of the index before the first one returned."""
    start = q.key if q.key is not MISSING else q.start
    if start is MISSING:
        return min(total, q.skip)
    op = ">" if q.descending else "<"
    docid = q.start_docid if q.key is MISSING else None
    args = [sort_key(start), docid] if docid else [sort_key(start)]
    before = conn.execute(
        f"SELECT count(*) FROM rows r WHERE r.view = ? AND {condition(op, docid)}",
        (number, *args),
    ).fetchone()[0]
    return min(total, before + q.skip)


# -- reductions --------------------------------------------------------------


def reduce_rows(couch, group: ViewGroup, number: int, source: str, q: ViewQuery):
    groups = list(grouped_rows(group, number, q))
    if not groups:
        return []
    end = None if q.limit is None else q.skip + q.limit
    groups = groups[q.skip : end]
    keys = [key for key, _ in groups]
    values = reductions(couch, source, [rows for _, rows in groups])
    return [reduced_row(key, value) for key, value in zip(keys, values, strict=True)]


def grouped_rows(group: ViewGroup, number: int, q: ViewQuery):
    """(group key, [(key_json, docid, value_json), ...]) in index order."""
    sql_rows = fetch_for_reduce(group, number, q)
    if not q.grouped or q.group_level == 0:
        if sql_rows:
            yield None, [row[1:] for row in sql_rows]
        return
    current, members, marker = None, [], None
    for sk, key_json, docid, value_json in sql_rows:
        group_key, group_marker = group_key_of(sk, key_json, q)
        if members and group_marker != marker:
            yield current, members
            members = []
        if not members:
            current, marker = group_key, group_marker
        members.append((key_json, docid, value_json))
    if members:
        yield current, members


def group_key_of(sk: bytes, key_json: str, q: ViewQuery):
    key = orjson.loads(key_json)
    if q.group_level is None or not isinstance(key, list):
        return key, sk
    trimmed = key[: q.group_level]
    return trimmed, sort_key(trimmed)


def fetch_for_reduce(group: ViewGroup, number: int, q: ViewQuery) -> list[tuple]:
    columns = "SELECT r.sk, r.key, r.docid, r.value FROM rows r"
    order = order_by(q)
    with group.reader() as conn:
        if q.keys is not None:
            sql = f"{columns} WHERE r.view = ? AND r.sk = ?{order}"
            return [
                row
                for key in q.keys
                for row in conn.execute(sql, (number, sort_key(key))).fetchall()
            ]
        where, args = bounds(q)
        sql = f"{columns} WHERE {' AND '.join(['r.view = ?', *where])}{order}"
        return conn.execute(sql, (number, *args)).fetchall()


def reductions(couch, source: str, groups: list[list[tuple]]) -> list:
    if source.startswith("_"):
        return [reducers.builtin(source, rows) for rows in groups]
    with couch.pool.checkout() as proc:
        return reducers.custom(proc, source, groups)


def reduced_row(key, value) -> str:
    if reducers.is_overflow(value):
        error = {"error": reducers.OVERFLOW, "reason": value[reducers.OVERFLOW]}
        return orjson.dumps({"key": key, **error}).decode()
    return orjson.dumps({"key": key, "value": value}).decode()
