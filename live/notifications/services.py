"""Notifications: the personal stream's first feature; other apps call `notify`.

A notification is written in its recipient's language (`Preferences.notification_language`: the one they chose on
their preferences page, else the one they last browsed in), never the actor's: callers pass a lazy text and its
parameters. Whether it also goes out by e-mail (at once or in the daily digest) follows the recipient's preferences
(live/notifications/email.py sends them, off the request path).
"""

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from live import effects, streams
from live.accounts.models import erased_name_stored
from live.database import insert, riding_insert
from live.notifications.models import (
    KIND_CATEGORIES,
    Category,
    Channel,
    Notification,
    Preferences,
    Rhythm,
    category_of,
)
from live.text import profile_url, replace_name

UNSUBSCRIBE_SALT = "live.notifications.unsubscribe"
# The parameters of a notification's text that are a person's name ("%(author)s replied to your comment").
PERSON_PARAMS = ("author", "name")
ALL = "all"  # an unsubscribe token for every e-mail (the digest's), not one category

# "comment" -> fn(pk) -> bool: is this still shown to people? Registered by the apps that own the content.
_subject_checks: dict = {}
# "message" -> fn(pk) -> str: the private text of a subject, pushed only to people who chose it.
_subject_texts: dict = {}


def add_subject_text(prefix: str, text) -> None:
    """`text(pk)`: the words of the `prefix:pk` subject (a private message's), or "" when it is not shown."""
    _subject_texts[prefix] = text


def subject_text(subject: str) -> str:
    prefix, _sep, pk = subject.partition(":")
    reader = _subject_texts.get(prefix)
    return reader(int(pk)) if reader is not None and pk.isdigit() else ""


def add_subject_check(prefix: str, is_shown) -> None:
    """`is_shown(pk)` answers whether the `prefix:pk` subject of a notification is still visible (an e-mail about
    something hidden or deleted since is never sent)."""
    _subject_checks[prefix] = is_shown


def subject_shown(subject: str) -> bool:
    prefix, _sep, pk = subject.partition(":")
    check = _subject_checks.get(prefix)
    return check is None or not pk.isdigit() or bool(check(int(pk)))


def preferences_of(user) -> Preferences:
    preferences, _created = Preferences.objects.get_or_create(user=user)
    return preferences


def language_of(user) -> str:
    return preferences_of(user).notification_language


def remember_language(user, language: str) -> None:
    """The language `user` browses in, for their notifications when they did not choose one."""
    Preferences.objects.update_or_create(user=user, defaults={"last_language": language})


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def render(text, params: dict | None, language: str) -> str:
    """A lazy text (and its parameters, lazy ones included) in `language`."""
    with translation.override(language):
        return str(text) % {key: str(value) for key, value in params.items()} if params else str(text)


@transaction.atomic
def notify(*, user, kind: str, text, params: dict | None = None, url: str = "", subject: str = "", once: str = "",
           at_once: bool = False) -> Notification | None:
    """Tell `user` something, in their language; the badge and list of every tab they have open update at once.
    `text` is a gettext_lazy text with %(name)s `params`; `subject` ("comment:12") says what it is about.
    `once`: a key said at most once to this person (a meeting's reminder): asked again, nothing happens (None).
    `at_once`: time-sensitive (a meeting starts soon): e-mailed at once even to people who chose the daily digest,
    whose digest would come too late (not to those who chose "never"). A person the text names is passed as the
    `author` or `name` parameter (PERSON_PARAMS): their erasure rewrites that notification, and only it."""
    if once and Notification.objects.filter(user=user, once_key=once).exists():
        return None
    notification = record(user=user, kind=kind, text=text, params=params, url=url, subject=subject,
                          preferences=preferences_of(user), once=once, at_once=at_once)
    if notification is not None:
        streams.append(user.stream_key, "notification.created", notification=notification.pk)
    return notification


def record(*, user, kind: str, text, params: dict | None = None, url: str = "", subject: str = "",
           preferences: Preferences | None = None, once: str = "", at_once: bool = False, pk: int | None = None,
           riding: list | None = None) -> Notification | None:
    """What `notify` does but its push on the person's stream: for a caller whose own event on `user.<pk>` shows
    the notification too (renderers.created_html), so one event carries both (a private message's unread badge
    and its notification, live/messaging/services.py). `preferences`: the person's, when the caller already read
    them (None: read here, and created with the defaults the first time, as the daily e-mail digest expects).
    `once`, `at_once`: as for `notify` (None when `once` was said already). Call it in a transaction.
    `pk`, `riding`: its id, taken beforehand from the table's sequence, and the caller's list of statements that
    ride with its events (streams.together): its INSERT goes there instead of being sent now (PostgreSQL)."""
    if preferences is None:
        preferences = preferences_of(user)
    # Private messages have their own e-mail (live/messaging/digest.py), which reads the same preference.
    email = "pending" if preferences.wants_email(kind) and category_of(kind) != Category.MESSAGE else ""
    language = preferences.notification_language
    fields = dict(user=user, kind=kind, text=render(text, params, language)[:300], language=language,
                  url=url[:300], subject=subject[:60], email=email, once_key=once[:80], at_once=at_once,
                  named=next((str(params[key]) for key in PERSON_PARAMS if params and key in params), "")[:150])
    if riding is not None:
        assert pk is not None and not once, "a riding notification has its id and is not said once"
        notification = Notification(**fields)
        riding.append(riding_insert(notification, pk))
    elif once:
        try:
            with transaction.atomic():  # a concurrent run said it first: the unique index decides
                notification = insert(Notification(**fields))
        except IntegrityError:
            return None
    else:
        # Written out (live.database.insert): the ORM's create cost a private message's new burst more Python
        # than the rest of recording it (#17).
        notification = insert(Notification(**fields))
    if preferences.channel(kind) == Channel.PUSH:
        from live.notifications.tasks import send_push

        effects.after_commit("notification push", lambda: send_push.enqueue(notification.pk))
    if email and (preferences.email_rhythm == Rhythm.NOW or at_once):
        from live.notifications.tasks import send_notification_emails

        # At-once people get everything pending; a digest reader only this one (the rest waits for the digest).
        only = None if preferences.email_rhythm == Rhythm.NOW else [notification.pk]
        effects.after_commit("notification e-mail", lambda: send_notification_emails.enqueue(user.pk, only))
    return notification


@transaction.atomic
def mark_read(*, user, ids=None) -> int:
    """Mark some (ids) or all of the user's notifications read; other people's ids are ignored."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    marked_ids = list(qs.values_list("pk", flat=True))
    if marked_ids:
        Notification.objects.filter(pk__in=marked_ids).update(read_at=timezone.now())
        streams.append(user.stream_key, "notifications.read", notifications=marked_ids)
    return len(marked_ids)


@transaction.atomic
def save_preferences(*, user, form) -> Preferences:
    """The preferences page's valid form (live.notifications.forms.PreferencesForm) saved."""
    from live import ratelimit

    ratelimit.enforce("default", user)
    preferences = form.save()
    drop_unwanted_emails(preferences)
    return preferences


def drop_unwanted_emails(preferences: Preferences) -> int:
    """Drop the person's pending e-mail items that their `preferences` no longer want (a category moved off e-mail,
    or no e-mail at all): what `Preferences.wants_email` answers, which the sender asks again per item
    (email._claim). Returns how many went."""
    pending = Notification.objects.filter(user_id=preferences.user_id, email="pending")
    if preferences.email_rhythm != Rhythm.NEVER:
        pending = pending.filter(_kinds_of([category for category in Category
                                            if getattr(preferences, category.value) != Channel.EMAIL]))
    return pending.update(email="dropped")


def _kinds_of(categories) -> Q:
    """The notification kinds of `categories` (KIND_CATEGORIES), as a filter."""
    kinds = Q(pk__in=[])
    for key, value in KIND_CATEGORIES.items():
        if value in categories:
            kinds |= Q(kind__startswith=key) if key.endswith(".") else Q(kind=key)
    return kinds


def unsubscribe_token(user, category: str) -> str:
    return signing.dumps({"u": user.pk, "c": category}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[Preferences, str] | None:
    """The preferences and category a link names; None for a forged or broken one. Links do not expire: an old
    e-mail's link must still work."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        category = data["c"]
        if category != ALL and category not in Category.values:
            return None
        preferences = Preferences.objects.select_related("user").get(user_id=int(data["u"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, Preferences.DoesNotExist):
        return None
    return preferences, category


@transaction.atomic
def unsubscribe(*, preferences: Preferences, category: str) -> None:
    """No more e-mails of `category` (or none at all): from a link in an e-mail, without signing in."""
    from live import ratelimit

    ratelimit.enforce("unsubscribe", preferences.user)
    if category == ALL:
        preferences.email_rhythm = Rhythm.NEVER
    elif getattr(preferences, category) == Channel.EMAIL:
        setattr(preferences, category, Channel.SITE)
    preferences.save()
    drop_unwanted_emails(preferences)


def erase_recipient(*, user, former: dict) -> None:
    """An erasure step (live.features): `user`'s notifications, preferences and push subscriptions go; those of
    others that name them ("alice replied to you") name "Deleted participant" instead and no longer link to their
    profile, at once in the lists and menus their owners have open (one event per owner). Only the notifications
    that name them (`Notification.named`), those with a moderator's free text (a reason may name anyone) and those
    recorded before `named` existed are rewritten, and there only whole-name occurrences (text.replace_name): the
    name inside another name, a word or a title of a notification about someone else stays as it is."""
    Notification.objects.filter(user=user).delete()
    Preferences.objects.filter(user=user).delete()
    from live.notifications.models import PushSubscription

    PushSubscription.objects.filter(user=user).delete()  # every device, whatever session subscribed it
    name, erased = former["nickname"], erased_name_stored()
    profile = profile_url(name)
    free_text = Q(named__isnull=True) | Q(kind__startswith="moderation.")
    changed: dict[int, list[int]] = {}
    for notification in Notification.objects.filter(Q(named=name) | Q(url=profile)
                                                     | (Q(text__icontains=name) & free_text)):
        before = (notification.text, notification.url, notification.named)
        if notification.named in (name, None) or notification.kind.startswith("moderation."):
            notification.text = replace_name(notification.text, name, erased)
        if notification.named == name:
            notification.named = erased
        if notification.url == profile:
            notification.url = ""
        if (notification.text, notification.url, notification.named) == before:
            continue
        notification.save(update_fields=["text", "url", "named"])
        changed.setdefault(notification.user_id, []).append(notification.pk)
    for owner, pks in changed.items():
        streams.append(f"user.{owner}", "notifications.changed", notifications=pks)


@transaction.atomic
def subscribe_push(*, user, endpoint: str, p256dh: str, auth: str, session_key: str = ""):
    """Record this device's push subscription (one per endpoint: a device subscribing again replaces its row)."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.core.exceptions import ValidationError

    from live import ratelimit
    from live.notifications.models import PushSubscription

    parts = urlsplit(endpoint or "")
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in settings.WEBPUSH_INSECURE_HOSTS)
    if not secure or not parts.hostname or len(endpoint) > 1000 or not (20 <= len(p256dh or "") <= 200) \
            or not (8 <= len(auth or "") <= 100):
        raise ValidationError(_("This browser's push subscription cannot be used."), code="push")
    ratelimit.enforce("default", user)
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth, "session_key": session_key})
    return subscription


def unsubscribe_push(*, user, endpoint: str = "", session_key: str = "") -> int:
    """Drop a device's subscription (its endpoint), or those made in a session that ends."""
    from live.notifications.models import PushSubscription

    qs = PushSubscription.objects.filter(user=user)
    if endpoint:
        qs = qs.filter(endpoint=endpoint)
    elif session_key:
        qs = qs.filter(session_key=session_key)
    else:
        return 0
    return qs.delete()[0]


def push_session_renewed(old_key: str, new_key: str) -> None:
    """The session a device subscribed in got a new key (Django renews it on sign-in and password change): its
    subscriptions follow, or they would be taken for those of an ended session."""
    from live.notifications.models import PushSubscription

    if old_key and new_key and old_key != new_key:
        PushSubscription.objects.filter(session_key=old_key).update(session_key=new_key)


def push_session_live(subscription) -> bool:
    """Whether the session that made `subscription` still signs its person in (not signed out, expired, cleared
    by `clearsessions`, ended by a password change or a block): a device's pushes last as long as its session."""
    from live.accounts.selectors import signed_in_user

    user = signed_in_user(subscription.session_key)
    return user is not None and user.pk == subscription.user_id


def prune_push_subscriptions() -> int:
    """Delete the subscriptions whose session no longer signs their person in; run by `clearsessions` (the session
    engine's clear_expired, live/accounts/sessions.py), daily from cron. Returns how many went."""
    from django.contrib.sessions.models import Session

    from live.notifications.models import PushSubscription

    live_keys = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    gone = PushSubscription.objects.exclude(session_key__in=live_keys).delete()[0]
    for subscription in PushSubscription.objects.all().iterator():
        if not push_session_live(subscription):
            subscription.delete()
            gone += 1
    return gone
