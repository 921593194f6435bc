"""The session engine (SESSION_ENGINE): Django's database sessions, refusing keys Django never makes.

A cookie can carry anything, NUL included (Python's cookie parser unquotes "\\000"). Such a key went to PostgreSQL,
which refuses NUL: every page answered 500, and a socket was told the database was down and to come back. Django's
keys are lowercase ASCII letters and digits: anything else is no session, for HTTP and sockets alike."""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and key.isascii() and key.isalnum()
