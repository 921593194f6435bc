"""The session engine (SESSION_ENGINE): Django's database sessions, refusing keys Django never makes.

A cookie can carry anything, NUL included (Python's cookie parser unquotes "\\000"). Such a key went to PostgreSQL,
which refuses NUL: every page answered 500, and a socket was told the database was down and to come back. Django's
keys are lowercase ASCII letters and digits: anything else is no session, for HTTP and sockets alike.

A device's push subscription lasts as long as the session that made it (live/notifications/push.py): a renewed key
carries it over, `clearsessions` prunes those of ended sessions."""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and key.isascii() and key.isalnum()

    def cycle_key(self):
        """A new key for the same session (sign-in, password change): the push subscriptions made in it follow."""
        from live.notifications.services import push_session_renewed

        before = self.session_key
        super().cycle_key()
        push_session_renewed(before, self.session_key)

    @classmethod
    def clear_expired(cls):
        """`manage.py clearsessions`: the expired sessions go, and the push subscriptions of every ended session."""
        from live.notifications.services import prune_push_subscriptions

        super().clear_expired()
        prune_push_subscriptions()
