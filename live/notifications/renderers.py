"""The notifications on their owner's `user.<pk>` stream: the new item, the unread badge, the announcement."""


from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from live import html, paths, streams
from live.notifications.models import Notification
from live.notifications.services import unread_count

# --- the fragments a page and a push share -------------------------------------------------------------------------
# An item of the list and the header's badge: built here, in the active language, by the page's templates
# (notifications/item.html and badge_count.html are one tag each, templatetags/notifications.py) and by the pushes
# alike, byte for byte what those templates gave (tests/notifications/test_fragments.py). Through the template
# engine, a private message's new burst paid about a third of its Python calls for them (#17). Variables are
# escaped as the engine does; translated texts are not.


def item_html(notification, *, oob=False, csrf_token=None) -> str:
    """One notification's <li> (the list page's, a push's), with its trailing newline as the template had."""
    pk, unread = notification.pk, notification.unread
    text, lang = escape(notification.text), notification.foreign_language
    lang = f' lang="{escape(lang)}"' if lang else ""
    if notification.url:
        shown = f'<a href="{escape(notification.url)}"{lang}>{text}</a>'
    else:
        shown = f"<span{lang}>{text}</span>" if lang else text
    created = notification.created_at
    ago = escape(timesince(created)) if created else ""
    when = timezone.localtime(created).isoformat() if created else ""
    if unread:
        path = escape(paths.reverse_once("notifications:mark_read"))
        label = _("Mark as read")
        state = (f'\n  <form method="post" action="{path}" hx-post="{path}" hx-swap="none">\n'
                 f'    {html.csrf_input(csrf_token)}<input type="hidden" name="id" value="{pk}">\n'
                 f'    <button class="link-button">{label}</button>\n  </form>\n  ')
    else:
        label = _("Read")
        state = f'<span class="read-mark">{label}</span>'
    return (f'<li id="notification-{pk}" class="notification{" unread" if unread else ""}"'
            f'{html.oob(oob)}>\n  {shown}\n  <time datetime="{when}">{ago}</time>\n'
            f'  {state}\n</li>\n')


def badge_count_html(unread, *, oob=False) -> str:
    """The header's unread notifications badge, with its trailing newline as the template had."""
    count = ""
    if unread:
        text = ngettext("%(n)s unread notification", "%(n)s unread notifications", unread) % {"n": unread}
        count = f'<span aria-hidden="true">{unread}</span><span class="visually-hidden">{text}</span>'
    return (f'<span id="notification-badge" class="badge{"" if unread else " badge-empty"}"'
            f'{html.oob(oob)}>{count}</span>\n')


def push_html(unread: int, *, created=None, read=(), announce: str = "") -> str:
    """What a push shows on its owner's tabs: the badge, the new item or the items now read, the announcement."""
    new = f'<ul hx-swap-oob="afterbegin:#notification-list">{item_html(created)}</ul>' if created else ""
    now_read = "".join(item_html(notification, oob=True) for notification in read)
    return (f'{badge_count_html(unread, oob=True)}\n{new}\n{now_read}\n'
            f'{streams.announcement(announce) if announce else ""}\n')


def _owner_and_unread(event, r):
    def read():
        user = get_user_model().objects.filter(pk=int(event.stream.split(".")[1])).first()
        return user, (unread_count(user) if user is not None else 0)

    return r.once("owner", read)


def created_html(notification, unread: int) -> str:
    """A new notification on its owner's tabs: the item, the badge, the announcement. Also for an event of another
    app that carries a notification recorded with it (services.record)."""
    # The forms in pushed bytes carry no per-user CSRF token (htmx sends it as a header).
    announce, lang = _("New notification: %(text)s"), notification.foreign_language
    if lang:  # its text read in its own language (live.js keeps the announcement's markup)
        announce = mark_safe(escape(announce) % {  # noqa: S308 (escaped, and the text escaped by format_html)
            "text": format_html('<span lang="{}">{}</span>', lang, notification.text)})
    else:
        announce = announce % {"text": notification.text}
    return push_html(unread, created=notification, announce=announce)


@streams.renderer("notification.created")
def render_created(event, r):
    notification = r.once("notification", lambda: Notification.objects.filter(pk=event.data["notification"]).first())
    user, unread = _owner_and_unread(event, r)
    if notification is None or user is None:
        return None
    return created_html(notification, unread)


@streams.renderer("notifications.read")
@streams.renderer("notifications.changed")  # their text changed (a person named in them erased their account)
def render_read(event, r):
    user, unread = _owner_and_unread(event, r)
    if user is None:
        return None
    read = r.once("read", lambda: list(Notification.objects.filter(pk__in=event.data["notifications"], user=user)))
    return push_html(unread, read=read)
