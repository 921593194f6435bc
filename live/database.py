"""A connection that PostgreSQL killed (a restart, a failover, a proxy cutting idle connections) costs no request that
only read through it: a read outside any transaction that failed because its connection was dead is sent once more,
on a new connection.

Connections are also checked before they are handed out (CONN_HEALTH_CHECKS: psycopg_pool's `check` in pool mode, a
`SELECT 1` at a request's first use of a persistent connection); this covers a connection killed after that check,
before or between a request's reads (the session, then the user). A read outside a transaction has no effect to
repeat, and the new connection gets the same session state (Django's `init_connection_state`). Writes, and anything
inside a transaction, are never sent again here: a write that failed may have been applied, and only the client may
repeat it (it gets a 503 with Retry-After, live.views.server_error; its client id makes the repeat safe)."""

from __future__ import annotations

import datetime
import functools
import logging
import select
from collections.abc import Callable

from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
)
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

logger = logging.getLogger(__name__)

_TIMESTAMPTZ_OID = 1184


def watch(sender, connection, **kwargs) -> None:
    """connection_created: put `retry_dead_read` around every query of this connection object, and on PostgreSQL
    load its timestamps with `UtcTimestampLoader`."""
    if retry_dead_read not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, retry_dead_read)
    if connection.vendor == "postgresql" and connection.timezone is datetime.UTC:
        adapters = connection.connection.adapters  # a pooled connection comes back here on each checkout
        if adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT) is not UtcTimestampLoader:
            adapters.register_loader("timestamptz", UtcTimestampLoader)


class UtcTimestampLoader(TimestamptzLoader):
    """Django's timestamp loader (`USE_TZ`, the connection in UTC: Django sets its `TimeZone`) with CPython's
    `fromisoformat`, which is written in C, instead of psycopg's regular expression in Python: 1.0 us a value
    instead of 3.7, the same datetime (aware, `timezone.utc`). Django's own loader subclasses psycopg's Python
    class, so psycopg's C loader is never used; a message's write loads some twenty timestamps, a page of
    comments hundreds (#17). What `fromisoformat` refuses (a year after 9999, BC, infinity) goes to psycopg's
    parser, which raises what it always raised."""

    timezone = datetime.UTC  # what Django's create_cursor compares with the connection's time zone

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._iso = self._load_method is TimestamptzLoader._load_iso  # the server's DateStyle is ISO

    def load(self, data):
        if self._iso:
            try:
                value = datetime.datetime.fromisoformat(bytes(data).decode())
            except ValueError:
                pass
            else:
                return value if value.tzinfo is datetime.UTC else value.astimezone(datetime.UTC)
        return super().load(data)


def retry_dead_read(execute, sql, params, many, context):
    db = context["connection"]
    try:
        return execute(sql, params, many, context)
    except (OperationalError, InterfaceError):
        if many or db.in_atomic_block or not db.get_autocommit() or not _is_read(sql) or not _dead(db):
            raise
        logger.warning("database connection lost before a read; sending the read again on a new connection")
    db.close()
    db.ensure_connection()
    context["cursor"].cursor = db.create_cursor()
    return execute(sql, params, many, context)


def quick_check(conn) -> None:
    """The pool's check of a connection it is about to hand out (psycopg_pool's `check`, installed by
    live/internals.py `lighten_pool_checks`): a round trip only when the server has written something on the
    connection since it went idle, which a healthy idle connection never receives. A connection PostgreSQL closed
    (a restart, `pg_terminate_backend`, an idle timeout) has its FATAL notice or its end of file to read, and then gets
    psycopg_pool's own check (an empty query): it fails, and the pool hands out another one. psycopg_pool's check
    sent that empty query on every checkout: a round trip more per socket write, request and replay, each one
    another wait for the GIL on a busy server (#17). Raises as psycopg_pool's check does."""
    from psycopg_pool import ConnectionPool

    if conn.closed or _has_input(conn.pgconn.socket):
        ConnectionPool.check_connection(conn)


def _has_input(fd: int) -> bool:
    """Whether the socket has something to read, or its peer hung up or failed, without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _is_read(sql) -> bool:
    return str(sql).lstrip().upper().startswith("SELECT")


def _dead(db) -> bool:
    raw = db.connection
    return raw is None or raw.closed or getattr(raw, "broken", False)


def first_if_sent_twice(write, first):
    """`write()` (a transaction that inserts a row keyed by its client id), or, when it fails on a unique constraint
    because the same post was sent twice at once (a retry racing the first), the row the first one wrote:
    `first()`, or None when the conflict was another one, which is raised."""
    try:
        return write()
    except IntegrityError:
        found = first()
        if found is None:
            raise
        return found


# --- rows read by written-out statements ------------------------------------------------------------------------------
# The hot reads of the write paths (a message's participants, a vote's locked comment...) are written out in SQL:
# building and compiling them with the ORM cost more CPU than the rest of the write (docs/performance.md, #17). These
# turn their rows back into model instances as the ORM would.

def columns(model, alias: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(`alias.column` for each concrete field of `model`, their attnames): what to SELECT, and how to build it.
    Once per model, alias and database: a vote built the 60 names of its comment, author and debate on every write,
    a tenth of its worker thread's CPU (#17)."""
    return _columns(model, alias, connection.vendor)


@functools.cache
def _columns(model, alias: str, vendor: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = model._meta.concrete_fields
    return (tuple(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields),
            tuple(f.attname for f in fields))


@functools.cache
def _converters(model, vendor: str) -> tuple:
    """(column index, its column, its converters) for the fields of `model` the database converts: none on
    PostgreSQL for most models, the datetimes on SQLite (`make run`'s default). Once per model and database."""
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if converters:
            found.append((index, col, converters))
    return tuple(found)


def from_db(model, names: list[str], values):
    """`model` from its columns (in `columns` order) as the ORM would build it, the database's converters applied."""
    # The connection itself, read once: each attribute read through `django.db.connection` is a thread-local lookup.
    db = connections[DEFAULT_DB_ALIAS]
    converters = _converters(model, db.vendor)
    if converters:
        values = list(values)
        for index, col, functions in converters:
            for convert in functions:
                values[index] = convert(values[index], col, db)
    if pre_init.receivers or post_init.receivers or not _plain(model) or len(values) != len(names):
        return model.from_db(db.alias, names, values)
    # What Model.from_db's `cls(*values)` leaves, without running Model.__init__ (its loop over the fields, the
    # signals it sends to nobody): each value under its attname, and the state of a saved row. A participation's
    # row: 2.6 us instead of 3.4 (#17). `tests/live/test_database_writes.py` compares the two, field by field.
    obj = _new(model)
    obj.__dict__.update(zip(names, values, strict=True))
    state = obj._state = ModelState()
    state.adding, state.db = False, db.alias
    return obj


_new = object.__new__


@functools.cache
def _plain(model) -> bool:
    """Whether `from_db` may build `model` without its __init__: neither it nor `from_db` are its own, and every
    concrete field's value is stored as is (no field's descriptor changes it on the way in: a file field's does)."""
    from django.db.models import Model
    from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
    from django.db.models.query_utils import DeferredAttribute

    if model.__init__ is not Model.__init__ or model.from_db.__func__ is not Model.from_db.__func__:
        return False
    return all(type(model.__dict__.get(field.attname)) in (DeferredAttribute, ForeignKeyDeferredAttribute)
               for field in model._meta.concrete_fields)


@functools.cache
def _insert_statement(model, vendor: str, with_pk: bool = False) -> tuple[str, tuple]:
    """The INSERT of a new `model` row, and the fields it sends (every concrete field but an auto primary key,
    unless `with_pk`: its value taken beforehand from the sequence)."""
    meta = model._meta
    fields = tuple(f for f in meta.local_concrete_fields if with_pk or f is not meta.auto_field)
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    if meta.auto_field is not None:
        sql += f" RETURNING {quote(meta.auto_field.column)}"
    return sql, fields


def insert_statement(obj, *, with_pk: bool = False) -> tuple[str, list]:
    """`insert`'s statement for the new instance `obj` (ending `RETURNING` its auto id) and its parameters, to send
    inside a larger statement (a `WITH`): each field's `pre_save`, then its database value. PostgreSQL only.
    `with_pk`: `obj`'s primary key is sent too (taken from its sequence by an earlier statement)."""
    db = connections[DEFAULT_DB_ALIAS]  # as in from_db
    sql, fields = _insert_statement(type(obj), db.vendor, with_pk)
    return sql, [field.get_db_prep_save(field.pre_save(obj, True), db) for field in fields]


def insert(obj):
    """Save the new model instance `obj` as `obj.save(force_insert=True)` would (each field's `pre_save`, e.g.
    auto_now_add, then its database value), in one written-out INSERT ... RETURNING its id: building and compiling
    the ORM's insert cost a write path more CPU than its statement (#17). Sends no model signals (the project has
    no receivers: STYLE.md). On other databases than PostgreSQL, the ORM's save."""
    if connection.vendor != "postgresql":
        obj.save(force_insert=True)
        return obj
    sql, params = insert_statement(obj)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        auto = type(obj)._meta.auto_field
        if auto is not None:
            setattr(obj, auto.attname, cursor.fetchone()[0])
    obj._state.adding, obj._state.db = False, connection.alias
    return obj


def next_id(model) -> str:
    """The SQL expression of the next id of `model`'s table, from its sequence (PostgreSQL): a write takes the id of
    the row it is about to create in a statement it sends anyway (its lock), so that the row's INSERT can ride with
    its events' statement (`riding_insert`). A write refused after that leaves a gap in the ids, as a rolled-back
    insert does."""
    return f"nextval(pg_get_serial_sequence('{model._meta.db_table}', '{model._meta.pk.column}'))"


def riding_insert(obj, pk: int) -> tuple[str, list]:
    """The INSERT of the new instance `obj` under the id `pk` taken beforehand (`next_id`), to hand to the events'
    statement (live/streams.py `together` and `append_together`, their `riding`) instead of sending it now: one
    round trip less for the write (#17). `obj` is from then on as `insert` leaves it (its pk, saved)."""
    obj.pk = pk
    statement = insert_statement(obj, with_pk=True)
    obj._state.adding, obj._state.db = False, connections[DEFAULT_DB_ALIAS].alias
    return statement


def riding_or_inserted(obj, pk: int | None) -> list[tuple[str, list]] | None:
    """`[riding_insert(obj, pk)]` for the write's events to send when its id was taken beforehand, else (`pk` None:
    not PostgreSQL) `obj` inserted now and None: what to pass as `riding` either way."""
    if pk is None:
        insert(obj)
        return None
    return [riding_insert(obj, pk)]


def server_bound_cursor():
    """A cursor of the current connection (PostgreSQL) whose statements travel with their parameters apart
    (server-side binding: PostgreSQL's extended protocol, as Django's `server_side_binding` option does for every
    statement) instead of merged into their text by psycopg, which quotes and escapes each value in Python: for a
    hot statement with many parameters (a write's events and the rows riding with them, live/streams.py) that
    merging was a large part of its CPU (#17). Its statements are prepared once used a few times on a connection
    (DB_PREPARED_STATEMENTS, psycopg's `prepare_threshold`; Django's own cursors bind on the client and are never
    prepared): PostgreSQL then stops planning them on every call, which was more than half of its time on a private
    message. Wrapped as Django wraps its cursors: counted in the tests' query budgets, logged with DEBUG, through
    execute_wrappers."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    db = connections[DEFAULT_DB_ALIAS]  # as in from_db
    db.ensure_connection()
    cursor = ServerBindingCursor(db.connection)
    return db.make_debug_cursor(cursor) if db.queries_logged else db.make_cursor(cursor)


def hot_cursor():
    """The cursor of a write path's hot statements: `server_bound_cursor` on PostgreSQL (bound on the server, and
    prepared), Django's elsewhere."""
    db = connections[DEFAULT_DB_ALIAS]  # as in from_db
    return server_bound_cursor() if db.vendor == "postgresql" else db.cursor()


def lock_then_read(cursor, locks: list[tuple[str, list, Callable]], read: str, read_params: list) -> list:
    """Run `locks` (statements taking row locks, as `(sql, params, kept)`, in the order the locks are to be taken),
    then `read`, in one round trip where the cursor allows it: with a `hot_cursor` on PostgreSQL, each statement on
    a cursor of its own, all sent in one psycopg pipeline (each prepared, see `server_bound_cursor`); with any other
    cursor (SQLite's, Django's client-side binding), one after the other. Either way PostgreSQL runs each statement
    once the locks before it are held, with a snapshot taken then: `read` sees what the transactions it waited for
    committed (a subquery of a locking statement would not: its snapshot predates the wait). Returns
    `[kept(cursor), ...]`, what to keep of each lock's result (its rowcount, its row), called with a cursor on it;
    `cursor` then holds `read`'s."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    kept = []
    if isinstance(cursor.cursor, ServerBindingCursor):
        lockers = [server_bound_cursor() for _lock in locks]
        try:
            db = connections[DEFAULT_DB_ALIAS]  # as in from_db
            with db.wrap_database_errors, db.connection.pipeline():
                for locker, (sql, params, _keep) in zip(lockers, locks, strict=True):
                    locker.execute(sql, params)
                cursor.execute(read, read_params)
            kept = [keep(locker) for locker, (_sql, _params, keep) in zip(lockers, locks, strict=True)]
        finally:
            for locker in lockers:
                locker.close()
    else:
        for sql, params, keep in locks:
            cursor.execute(sql, params)
            kept.append(keep(cursor))
        cursor.execute(read, read_params)
    return kept


def account_lock(user) -> tuple[str, list, Callable]:
    """`user`'s account row under a share lock, as one of lock_then_read's `locks` (first: the writer's account
    before anything else), its state as it stands once the lock is held set on `user` (`is_active`, `blocked_at`,
    `erased_at`) for the write's usual check. A write under way while its author is blocked or erases their account
    waits for that, then sees it; a block or an erasure that comes second waits for the write. (Elsewhere than on
    PostgreSQL a plain read: one writer at a time.)"""
    from django.contrib.auth import get_user_model

    sql = f'SELECT "is_active", "blocked_at", "erased_at" FROM "{get_user_model()._meta.db_table}" WHERE "id" = %s'

    def keep(cursor):
        row = cursor.fetchone()
        if row is not None:
            user.is_active, user.blocked_at, user.erased_at = row

    return sql + (" FOR SHARE" if connection.vendor == "postgresql" else ""), [user.pk], keep


def save_fields(obj, fields: list[str]) -> None:
    """`obj.save(update_fields=fields)` for a row known to exist (e.g. locked by this transaction), in one
    written-out UPDATE (#17, as `insert`). On other databases than PostgreSQL, the ORM's save."""
    if connection.vendor != "postgresql":
        obj.save(update_fields=fields)
        return
    meta = type(obj)._meta
    chosen = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in chosen)} "
           f"WHERE {quote(meta.pk.column)} = %s")
    params = [field.get_db_prep_save(field.pre_save(obj, False), connection) for field in chosen]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, obj.pk])
