"""Erasing an account rewrites only the whole name of that person, in what names them: not a longer name that
starts the same ("ann" / "anna"), a word that holds it ("rac" / "racistes"), a title of a notification about
someone else ("Paris" / "Vélos à Paris") or a link that is not their profile ("meetings" / /meetings/7/live/).

- ann, anna, Paris, meetings, rac: people who erase their account (or whose name is in another's);
- bob: receives the notifications, writes the comments a moderator hides;
- alice: the author bob and Paris reply to;
- fiona: opens the debates; mona: moderates."""

import pytest
from django.utils.translation import gettext_lazy

from debates import services as debates
from live.accounts import services
from live.moderation import services as moderation
from live.moderation.models import ActionLog, Case
from live.notifications import services as notifications
from live.notifications.models import Notification
from live.text import profile_url
from meetings.notifications import OPENED_TEXT
from tests.helpers import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ERASED = "Participant·e supprimé·e"
WELCOME_TEXT = gettext_lazy("Welcome to Agora Live, %(name)s!")  # live/accounts/services.py's


def _replies(user) -> list[str]:
    return sorted(Notification.objects.filter(user=user, kind="debate.reply").values_list("text", flat=True))


def test_erasing_ann_leaves_the_notifications_naming_anna_as_they_are(fiona, bob):
    ann, anna = make_user("ann"), make_user("anna")
    debate = debates.create_debate(author=fiona, title="Piétonniser la place ?", description="Qu'en pensez-vous ?")
    root = debates.post_comment(author=bob, debate=debate, body="Des bancs à l'ombre.")
    debates.post_comment(author=anna, debate=debate, body="Oui.", parent=root)
    debates.post_comment(author=ann, debate=debate, body="Non.", parent=root)
    # Recorded before notifications kept whom they name: the whole text is searched, for the whole name.
    Notification.objects.create(user=bob, kind="debate.reply", text="anna a répondu (ancienne notification)")
    Notification.objects.create(user=bob, kind="debate.reply", text="ann a répondu (ancienne notification)")

    services.erase_account(user=ann, password=PASSWORD)

    texts = _replies(bob)
    assert sum(text.startswith("anna a répondu à votre commentaire") for text in texts) == 1
    assert sum(text.startswith(f"{ERASED} a répondu à votre commentaire") for text in texts) == 1
    assert "anna a répondu (ancienne notification)" in texts
    assert f"{ERASED} a répondu (ancienne notification)" in texts


def test_erasing_paris_leaves_a_notification_about_velos_a_paris_by_someone_else_as_it_is(fiona, alice, bob):
    paris = make_user("Paris")
    debate = debates.create_debate(author=fiona, title="Vélos à Paris", description="Des pistes ?")
    root = debates.post_comment(author=alice, debate=debate, body="Plus de pistes cyclables.")
    debates.post_comment(author=bob, debate=debate, body="Oui, rue de Rivoli.", parent=root)
    debates.post_comment(author=paris, debate=debate, body="Et des arceaux.", parent=root)

    services.erase_account(user=paris, password=PASSWORD)

    bobs, theirs = sorted(_replies(alice), key=lambda text: not text.startswith("bob"))
    assert bobs == "bob a répondu à votre commentaire dans «\u00a0Vélos à Paris\u00a0»"  # French typography
    assert theirs.startswith(f"{ERASED} a répondu") and not theirs.startswith("Paris")


def test_erasing_meetings_blanks_only_the_links_to_their_profile(bob):
    meetings = make_user("meetings")
    opened = notifications.notify(user=bob, kind="meeting.opened", url="/meetings/7/live/", text=OPENED_TEXT,
                                  params={"title": "Conseil de quartier"})
    linked = notifications.notify(user=bob, kind="welcome", url=profile_url("meetings"), text=WELCOME_TEXT,
                                  params={"name": "meetings"})  # a notification that links to their profile

    services.erase_account(user=meetings, password=PASSWORD)

    opened.refresh_from_db()
    linked.refresh_from_db()
    assert opened.url == "/meetings/7/live/" and "Conseil de quartier" in opened.text
    assert linked.url == "" and ERASED in linked.text and "meetings" not in linked.text


def test_erasing_rac_leaves_propos_racistes_in_the_reasons_and_notifications(fiona, bob, mona):
    rac = make_user("rac")
    debate = debates.create_debate(author=fiona, title="Piétonniser la place ?", description="Qu'en pensez-vous ?")
    racist, insulting = (debates.post_comment(author=bob, debate=debate, body=body) for body in ("…", "…!"))
    moderation.hide(actor=mona, kind="comment", object_id=racist.pk, reason="Propos racistes")
    moderation.hide(actor=mona, kind="comment", object_id=insulting.pk, reason="Insultes envers rac.")

    services.erase_account(user=rac, password=PASSWORD)

    reasons = set(ActionLog.objects.exclude(reason="").values_list("reason", flat=True))
    assert reasons == {"Propos racistes", f"Insultes envers {ERASED}."}
    assert set(Case.objects.values_list("hidden_reason", flat=True)) == reasons
    told = " ".join(Notification.objects.filter(user=bob, kind__startswith="moderation.")
                    .values_list("text", flat=True))
    assert "Propos racistes" in told and f"Insultes envers {ERASED}." in told and "rac." not in told
