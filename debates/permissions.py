"""Who may do what in a debate: small predicates, composed by the services and the templates, tested per role."""

from django.conf import settings
from django.utils.translation import gettext as _

from live import html


def signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_active and not user.is_blocked


def is_moderator(user, debate) -> bool:
    """Global moderators, administrators, and moderators of this debate."""
    return signed_in(user) and user.has_role("moderator", space=debate.space)


def is_facilitator(user, debate=None) -> bool:
    return signed_in(user) and user.has_role("facilitator", space=debate.space if debate else None)


def is_official(user) -> bool:
    """Debates opened by the city's staff carry an "official" badge."""
    return signed_in(user) and user.has_role("facilitator")


def can_create_debate(user) -> bool:
    return signed_in(user) and (settings.DEBATES_PARTICIPANTS_CAN_CREATE or user.has_role("facilitator"))


def can_edit_debate(user, debate) -> bool:
    return signed_in(user) and (debate.author_id == user.pk or is_facilitator(user, debate))


def can_post_update(user, debate) -> bool:
    return can_edit_debate(user, debate)


def can_close_debate(user, debate) -> bool:
    return signed_in(user) and (debate.author_id == user.pk or is_facilitator(user, debate)
                                or is_moderator(user, debate))


def can_remove_comment(user) -> bool:
    """Removing a comment for good (with its replies) is the administrators'; moderators hide, authors delete."""
    return signed_in(user) and user.has_role("administrator")


def can_lock_debate(user, debate) -> bool:
    return is_moderator(user, debate)


def comment_refusal(user, debate) -> str | None:
    """Why `user` may not comment or vote in `debate` now, or None when they may."""
    if not getattr(user, "is_authenticated", False):
        return _("Sign in to take part in the debate.")
    if not signed_in(user):
        return _("Your account cannot take part.")
    return debate_refusal(debate)


def debate_refusal(debate) -> str | None:
    """Why nobody may comment or vote in `debate` now (closed, locked, outside its window), or None: the refusal
    the services raise and the notice the page shows in place of the form."""
    if debate.is_closed:
        return _("This debate is closed: no more comments or votes.")
    if debate.comments_locked:
        return _("Comments are locked by a moderator: no more comments or votes for now.")
    window = debate.window_state()
    if window == "before":
        return _("Comments open on %(date)s.") % {"date": _when(debate.starts_at)}
    if window == "after":
        return _("Comments closed on %(date)s.") % {"date": _when(debate.ends_at)}
    return None


def _when(moment) -> str:
    return html.moment_text(moment)


def can_comment(user, debate) -> bool:
    return comment_refusal(user, debate) is None


def _is_own(user, comment) -> bool:
    return signed_in(user) and comment.author_id == user.pk and not comment.is_deleted


def comment_edit_refusal(user, comment) -> str | None:
    """Why `user` may not rewrite `comment` now, or None. Only one's own, and only while the debate takes
    comments: once it is closed, locked or past its window, what was said is the record (docs/debates.md)."""
    if not _is_own(user, comment):
        return _("You can only edit your own comments.")
    return comment_refusal(user, comment.debate)


def can_edit_comment(user, comment) -> bool:
    return comment_edit_refusal(user, comment) is None


def can_delete_comment(user, comment) -> bool:
    """One's own comment, whatever the debate's state: the one change a finished record takes is its author
    withdrawing their words (privacy: RGPD art. 17); a placeholder keeps the replies and the thread in place."""
    return _is_own(user, comment)
