"""Reads about accounts: the sessions a person is signed in with, and whether a session still signs its person in."""

import functools
from importlib import import_module

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from live.database import hot_cursor


def session_keys_of(user) -> list[str]:
    """The keys of the unexpired sessions signed in as `user` (database session store: every session is read,
    since the store keeps no index by user)."""
    keys = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        try:
            data = session.get_decoded()
        except Exception:
            continue
        if str(data.get(SESSION_KEY)) == str(user.pk):
            keys.append(session.session_key)
    return keys


def signed_in_user(session_key: str | None):
    """The user a stored session still signs in, read afresh, or None: the session is gone from the store (signed
    out, ended by a password or e-mail change, a block), its user is gone, inactive or blocked, or the
    session's auth hash no longer matches the user's (the password changed). What django.contrib.auth.get_user
    decides on every request, without its writes (it flushes a session whose hash does not match)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    signer = session_signer(store(session_key)) if session_key else None
    if signer is None or signer[1] not in settings.AUTHENTICATION_BACKENDS:
        return None
    user_id, backend_path, session_hash = signer
    user = load_backend(backend_path).get_user(get_user_model()._meta.pk.to_python(user_id))
    return user if _signs_in(user, session_hash) else None  # the backend answers None for a deleted or inactive one


def _signs_in(user, session_hash: str) -> bool:
    """`user`, read afresh, is not blocked and the session's auth hash is still theirs (or a fallback's)."""
    return user is not None and not user.is_blocked and (
        constant_time_compare(session_hash, user.get_session_auth_hash()) or any(
            constant_time_compare(session_hash, fallback) for fallback in user.get_session_auth_fallback_hash()))


def session_signer(session) -> tuple | None:
    """What in a session signs its person in: (user id, backend, auth hash), or None (no such session, or not
    signed in). These never change under one key: signing in, a password or e-mail change renew the key. `session`
    is a session store, read from the store on first use unless it was already: a socket's own (its scope's) was
    read at its connect, to find its user, so a socket's first write does not read it again."""
    if session is None or not session.session_key:
        return None
    signer = session.get(SESSION_KEY), session.get(BACKEND_SESSION_KEY), session.get(HASH_SESSION_KEY)
    return signer if all(signer) else None


def still_signed_in(session_key: str | None, signer: tuple | None):
    """`signed_in_user` for a session whose signer was read before (a socket's: session_signer of its scope's
    session): the same answer, in one statement (the session still stored and unexpired, its user read afresh)
    instead of two, without decoding the session again. A socket checks this before each write
    (live/consumers.py). Written out, and the row made a user with `from_db`: the ORM's Exists() took 1 ms of CPU
    to build and compile, more than the two statements it replaced; a raw() query 0.4 ms (resolving its columns
    each time); this 0.2 ms."""
    if not session_key or not signer:
        return None
    user_id, backend_path, session_hash = signer
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    User = get_user_model()
    sql, attnames = _still_signed_in_sql()
    db = connections[DEFAULT_DB_ALIAS]  # read once: each attribute read through `connection` costs a lookup
    now = db.ops.adapt_datetimefield_value(timezone.now())
    with hot_cursor() as cursor:
        cursor.execute(sql, [User._meta.pk.to_python(user_id), session_key, now])
        row = cursor.fetchone()
    user = None if row is None else User.from_db(db.alias, attnames, row)
    if user is None or not load_backend(backend_path).user_can_authenticate(user):
        return None
    return user if _signs_in(user, session_hash) else None


@functools.cache
def _still_signed_in_sql() -> tuple[str, list[str]]:
    """still_signed_in's statement, and the attribute names of the user's columns in the order it selects them."""
    User = get_user_model()
    fields = User._meta.concrete_fields
    columns = ", ".join(f"u.{connection.ops.quote_name(field.column)}" for field in fields)
    sql = (f"SELECT {columns} FROM {User._meta.db_table} u WHERE u.{User._meta.pk.column} = %s AND EXISTS ("
           f"SELECT 1 FROM {Session._meta.db_table} s WHERE s.session_key = %s AND s.expire_date > %s)")
    return sql, [field.attname for field in fields]
