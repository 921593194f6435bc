"""Work that follows a commit (e-mail, the push of a stream's event): one helper for every such call site.

When it runs, the action is saved: whatever the side effect does, it must not turn the action into an error (a
moderator who blocked an account while the mail server was down used to get a 500, though the block held). So
`after_commit` runs `fn` once the transaction commits, tries it again at once if it fails (a dropped SMTP
connection), and then reports the failure: logged at ERROR with what it was for, never raised into the view, which
answers with the action's real outcome. Work that a later run can redo (the message digests) uses `run` and puts
its claim back when it returns False.

    effects.after_commit("block e-mail to user 7", lambda: send_mail(...))
"""

from __future__ import annotations

import functools
import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def after_commit(what: str, fn, *, attempts: int = 2) -> None:
    """Run `fn` after the current transaction commits (at once outside one); see the module docstring."""
    transaction.on_commit(functools.partial(run, what, fn, attempts=attempts))


def run(what: str, fn, *, attempts: int = 2) -> bool:
    """Call `fn` up to `attempts` times; True once it succeeded, False (logged at ERROR) when every try failed."""
    for attempt in range(1, attempts + 1):
        try:
            fn()
        except Exception:
            if attempt < attempts:
                logger.warning("%s failed; trying again", what, exc_info=True)
            else:
                logger.exception("%s failed after %d attempt(s); the action it follows is saved", what, attempts)
        else:
            return True
    return False
