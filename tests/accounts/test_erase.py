"""Erasing one's account (RGPD article 17): nothing personal is left in any table, what others see keeps its shape
("Participant·e supprimé·e", "[supprimé]"), tallies do not move, and a wrong password or a second try changes
nothing.

- zoe: the person who erases her account; she comments, votes, writes to bob, joins a meeting from a known IP,
  contributes, answers a poll, reports, blocks carol, is named in others' notifications;
- bob: replies to her and writes back; his things stay;
- carol: blocked by zoe;
- fiona: facilitates the meeting and opened the debate."""

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from django.test import Client

from debates import selectors as debate_selectors
from debates import services as debates
from debates.models import Comment, Debate, Vote
from live import ratelimit
from live.accounts import services
from live.accounts.models import User
from live.messaging import services as messaging
from live.messaging.models import Message
from live.moderation import services as moderation
from live.moderation.models import ActionLog
from live.notifications.models import Notification
from meetings import services as meetings
from meetings.models import PollAnswer
from tests.helpers import PASSWORD, make_user
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db

NICKNAME = "Zoé-Quintessence"
EMAIL = "zoe.quintessence@example.org"
IP = "203.0.113.77"


@pytest.fixture
def zoe(db):
    user = User.objects.create_user(username=EMAIL, email=EMAIL, password=PASSWORD, nickname=NICKNAME,
                                    first_name="Zoé", last_name="Quintessence-Martin", bio="J'habite rue des Lilas.")
    return user


@pytest.fixture
def world(zoe, bob, carol, fiona, mona):
    """Everything zoe leaves behind, and what others did around it."""
    debate = debates.create_debate(author=fiona, title="Piétonniser la place ?", description="Qu'en pensez-vous ?")
    root = debates.post_comment(author=zoe, debate=debate, body="Oui, avec des bancs à l'ombre.", alignment=1)
    reply = debates.post_comment(author=bob, debate=debate, body="D'accord avec toi !", parent=root)
    debates.post_comment(author=zoe, debate=debate, body="Et des fontaines.", parent=reply)
    debates.vote(comment=reply, user=zoe, value=1)
    mentioning = debates.post_comment(author=bob, debate=debate, body=f"Je rejoins @{NICKNAME} sur les fontaines.")
    assert "/people/" in mentioning.body_html  # a link to her profile, until she erases her account
    debates.vote(comment=root, user=bob, value=1)
    first = messaging.start_conversation(author=zoe, recipients=[bob], body="Bonjour Bob, c'est Zoé du 3e.")
    messaging.send_message(author=bob, conversation=first.conversation, body="Bonjour !")
    messaging.block_user(blocker=zoe, blocked=carol)
    meeting = make_meeting(fiona, premoderation=False, registration_enabled=True)
    meetings.register(user=zoe, meeting=meeting)
    participant = meetings.join(meeting=meeting, user=zoe, ip=IP)
    contribution = meetings.post_contribution(participant=participant, body="Quand commencent les travaux ?")
    meetings.raise_hand(participant=participant)
    poll = meetings.create_poll(actor=fiona, meeting=meeting, question="Pour ?", choices=["Oui", "Non"])
    poll = meetings.open_poll(actor=fiona, poll=poll)
    meetings.answer_poll(participant=participant, poll=poll, choices=[poll.choices.first().pk])
    moderation.report(reporter=zoe, kind="comment", object_id=reply.pk, reason="other",
                      details="Je m'appelle Zoé et ce message me vise.")
    moderation.report(reporter=bob, kind="comment", object_id=root.pk, reason="spam")
    # Others name her with an @mention, everywhere they can write (a full stop right after the name, too).
    debates.post_update(debate=debate, actor=fiona, body=f"Merci à @{NICKNAME}.")
    debates.edit_debate(debate=debate, actor=fiona, title=debate.title,
                        description=f"Qu'en pensez-vous ? Idée de @{NICKNAME}, voir aussi @bob.")
    messaging.send_message(author=bob, conversation=first.conversation, body=f"Salut @{NICKNAME}, à demain")
    bobs_seat = meetings.join(meeting=meeting, user=bob, ip="198.51.100.5")
    meetings.post_contribution(participant=bobs_seat, body=f"Je suis d'accord avec @{NICKNAME} !")
    cloud = meetings.open_poll(actor=fiona, poll=meetings.create_poll(actor=fiona, meeting=meeting,
                                                                      question="Un mot ?", kind="words"))
    meetings.answer_words(participant=bobs_seat, poll=cloud, texts=[f"@{NICKNAME}", "fontaine"])
    meetings.save_report(actor=fiona, meeting=meeting, minutes=f"Question de @{NICKNAME} sur les travaux.",
                         attendees=12, publish=True)
    return {"bob": bob, "debate": debate, "mentioning": mentioning, "root": root, "reply": reply, "conversation": first.conversation,
            "meeting": meeting, "contribution": contribution, "poll": poll}


def signed_in(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(user)
    return client


def traces(*needles) -> list[str]:
    """Every row of every table whose text (CharField, TextField, e-mail, IP, JSON) holds one of `needles`."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields
                  if isinstance(f, (models.CharField, models.TextField, models.GenericIPAddressField,
                                    models.JSONField))]
        for field in fields:
            query = Q()
            for needle in needles:
                if isinstance(field, models.JSONField | models.GenericIPAddressField):
                    query |= Q(**{f"_t_{field.name}__icontains": needle})
                else:
                    query |= Q(**{f"{field.name}__icontains": needle})
            rows = model._default_manager.annotate(**{f"_t_{field.name}": Cast(field.name, models.TextField())}) \
                if isinstance(field, models.JSONField | models.GenericIPAddressField) else model._default_manager
            for pk in rows.filter(query).values_list("pk", flat=True)[:5]:
                found.append(f"{model._meta.label}.{field.name} #{pk}")
    return found


def test_it_leaves_no_trace_of_the_email_the_names_or_the_ip(zoe, world):
    seat_token = world["contribution"].participant.token  # her seat's key (a session holding it finds the seat)
    assert traces(EMAIL, NICKNAME, "Quintessence", IP, seat_token)  # the walk finds them before

    response = signed_in(zoe).post("/accounts/profile/delete/", {"confirm": "on", "password": PASSWORD})

    assert response.status_code == 302
    assert traces(EMAIL, NICKNAME, "Quintessence", IP, "rue des Lilas", "bancs à l'ombre", "c'est Zoé du 3e",
                  "commencent les travaux", "me vise", seat_token) == []


def test_her_mentions_in_what_others_wrote_become_the_erased_name(zoe, world):
    services.erase_account(user=zoe, password=PASSWORD)

    debate = Debate.objects.get(pk=world["debate"].pk)
    assert debate.description == "Qu'en pensez-vous ? Idée de Participant·e supprimé·e, voir aussi @bob."
    assert debate.description_html.count("/people/") == 1  # bob's, still a link
    assert debate.updates.get().body == "Merci à Participant·e supprimé·e."
    assert Message.objects.get(body__startswith="Salut").body == "Salut Participant·e supprimé·e, à demain"
    from meetings.models import Contribution, Meeting, WordEntry

    assert Contribution.objects.filter(body="Je suis d'accord avec Participant·e supprimé·e !").exists()
    entry = WordEntry.objects.get(poll__kind="words", position=0)
    assert (entry.text, entry.key) == ("Participant·e supprimé·e", "participant·e supprime·e")
    assert WordEntry.objects.filter(text="fontaine").exists()
    assert Meeting.objects.get(pk=world["meeting"].pk).report_minutes == \
        "Question de Participant·e supprimé·e sur les travaux."


@pytest.mark.needs_postgres  # the statement budgets are PostgreSQL's (one statement per event there)
def test_a_prolific_account_is_one_event_per_stream(zoe, bob, world, django_assert_max_num_queries):
    """Hundreds of comments, messages and contributions, one event per debate, conversation and meeting stream: the
    erasure's cost does not grow with each item (bench/erase_cost.py measures it at 5,000 comments and 2,000
    messages)."""
    from live.models import Event

    debate = world["debate"]
    Comment.objects.bulk_create(Comment(debate=debate, author=zoe, body=f"n°{n}", body_html=f"<p>n°{n}</p>")
                                for n in range(300))
    Message.objects.bulk_create(Message(conversation=world["conversation"], author=zoe, body=f"m{n}",
                                        body_html=f"<p>m{n}</p>") for n in range(200))
    from meetings.models import Contribution

    seat = world["contribution"].participant
    Contribution.objects.bulk_create(Contribution(meeting=world["meeting"], participant=seat, body=f"c{n}",
                                                  status=Contribution.Status.APPROVED) for n in range(30))
    before = Event.objects.count()

    with django_assert_max_num_queries(160):
        services.erase_account(user=zoe, password=PASSWORD)

    events = list(Event.objects.order_by("pk").values_list("stream", "kind")[before:])
    assert events.count((debate.stream_key, "comments.author_erased")) == 1
    assert events.count((world["conversation"].stream_key, "messages.author_erased")) == 1
    meeting = world["meeting"].stream_key
    for stream in (meeting, f"{meeting}.screen", f"{meeting}.console"):  # her 31 contributions, one event each
        assert events.count((stream, "contribution.changed")) == 2, stream  # and one for bob's mention of her
    assert not [kind for _stream, kind in events if kind in ("comment.erased",)]
    assert len(events) < 40, events
    assert not Comment.objects.filter(author=zoe).exclude(body="").exists()
    assert not Message.objects.filter(author=zoe).exclude(body="").exists()


def test_threads_keep_their_shape_and_tallies_their_counts(zoe, world):
    debate = world["debate"]
    before = debate_selectors.tallies(debate)
    scores = {c.pk: c.score for c in Comment.objects.filter(debate=debate)}
    answers = PollAnswer.objects.filter(poll=world["poll"]).count()

    services.erase_account(user=zoe, password=PASSWORD)

    assert debate_selectors.tallies(Debate.objects.get(pk=debate.pk)) == before
    assert {c.pk: c.score for c in Comment.objects.filter(debate=debate)} == scores
    assert Vote.objects.filter(comment=world["reply"]).count() == 1
    assert PollAnswer.objects.filter(poll=world["poll"]).count() == answers
    page = Client(HTTP_ACCEPT_LANGUAGE="fr").get(debate.get_absolute_url()).content.decode()
    # Her two comments, and the mentions of her: bob's comment, the description and the information update.
    assert page.count("Participant·e supprimé·e") == 5
    assert page.count("[supprimé]") == 2
    assert "D&#x27;accord avec toi !" in page or "D'accord avec toi !" in page  # bob's reply, between zoe's two
    mentioning = Comment.objects.get(pk=world["mentioning"].pk)
    assert mentioning.body == "Je rejoins Participant·e supprimé·e sur les fontaines."
    assert "/people/" not in mentioning.body_html
    from meetings.models import SpeakerRequest

    assert not SpeakerRequest.objects.exclude(status="done").exists()  # her raised hand went down
    feed = signed_in(world["bob"]).get(f"/meetings/{world['meeting'].pk}/live/").content.decode()
    assert "Quand commencent" not in feed
    assert "[supprimé]" in feed and "Participant·e supprimé·e" in feed


def test_bob_reads_message_deleted_from_a_deleted_participant(zoe, bob, world):
    services.erase_account(user=zoe, password=PASSWORD)

    page = signed_in(bob).get(world["conversation"].get_absolute_url()).content.decode()
    assert "Message supprimé." in page
    assert "Participant·e supprimé·e" in page
    assert "Bonjour !" in page  # his own message stays
    assert Message.objects.filter(conversation=world["conversation"]).count() == 3  # hers, his two


def test_the_moderators_log_keeps_the_facts(zoe, mona, world):
    moderation.hide(actor=mona, kind="comment", object_id=world["root"].pk, reason="Hors sujet")
    logged = ActionLog.objects.count()

    services.erase_account(user=zoe, password=PASSWORD)

    assert ActionLog.objects.count() == logged
    assert not ActionLog.objects.filter(excerpt__icontains="bancs").exists()


def test_the_moderators_queue_shows_the_cases_without_her_at_once(zoe, world):
    from live.models import Event
    from live.moderation.models import Case

    open_cases = set(Case.objects.filter(status=Case.Status.OPEN).values_list("pk", flat=True))
    assert len(open_cases) == 2  # bob reported her comment; she reported his
    last = Event.objects.order_by("-pk").values_list("pk", flat=True).first()

    services.erase_account(user=zoe, password=PASSWORD)

    pushed = Event.objects.filter(pk__gt=last, stream="moderation.global", kind="case.updated")
    assert {event.data["case"] for event in pushed} == open_cases
    assert not Case.objects.filter(excerpt__contains="bancs").exists()


def test_the_erased_account_cannot_sign_in_and_its_address_signs_up_again(zoe, world):
    services.erase_account(user=zoe, password=PASSWORD)

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post("/accounts/login/", {"username": EMAIL, "password": PASSWORD}).status_code == 400
    assert client.post("/accounts/login/", {"username": NICKNAME, "password": PASSWORD}).status_code == 400
    response = client.post("/accounts/signup/", {"nickname": NICKNAME, "email": EMAIL, "password": "another-horse-42"})
    assert response.status_code == 302
    again = User.objects.get(email=EMAIL)
    assert again.pk != zoe.pk
    assert not Comment.objects.filter(author=again).exists()


def test_it_ends_every_session(zoe, world):
    signed_in(zoe), signed_in(zoe)
    assert Session.objects.count() >= 2

    services.erase_account(user=zoe, password=PASSWORD)

    assert Session.objects.count() == 0


def test_a_wrong_password_deletes_nothing(zoe, world):
    response = signed_in(zoe).post("/accounts/profile/delete/", {"confirm": "on", "password": "not-it"})

    assert response.status_code == 400
    assert "Ce n’est pas votre mot de passe" in response.content.decode() or \
        "Ce n'est pas votre mot de passe" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    zoe.refresh_from_db()
    assert zoe.email == EMAIL and not zoe.is_erased
    assert Comment.objects.get(pk=world["root"].pk).body == "Oui, avec des bancs à l'ombre."


def test_the_box_must_be_ticked(zoe):
    response = signed_in(zoe).post("/accounts/profile/delete/", {"password": PASSWORD})

    assert response.status_code == 400
    assert "Cochez la case pour confirmer." in response.content.decode()
    zoe.refresh_from_db()
    assert not zoe.is_erased


def test_erasing_twice_says_so_and_changes_nothing(zoe, world):
    client = signed_in(zoe)
    client.post("/accounts/profile/delete/", {"confirm": "on", "password": PASSWORD})
    erased = User.objects.values().get(pk=zoe.pk)

    again = client.post("/accounts/profile/delete/", {"confirm": "on", "password": PASSWORD}, follow=True)

    assert "Aucun compte n’est connecté" in again.content.decode() or \
        "Aucun compte n'est connecté" in again.content.decode()
    assert User.objects.values().get(pk=zoe.pk) == erased
    with pytest.raises(Exception, match="déjà supprimé|already deleted"):
        services.erase_account(user=User.objects.get(pk=zoe.pk), password=PASSWORD)


def test_the_page_works_without_javascript_and_labels_its_fields(zoe):
    page = signed_in(zoe).get("/accounts/profile/delete/").content.decode()

    assert '<label for="id_password"' in page and '<label for="id_confirm"' in page
    assert "Supprimer mon compte" in page


def test_an_account_made_through_decidim_needs_a_fresh_sign_in(db):
    person = make_user("decidim-only")
    person.set_unusable_password()
    person.save()

    with pytest.raises(Exception, match="Decidim"):
        services.erase_account(user=person)

    person.refresh_from_db()
    assert not person.is_erased
    from django.utils import timezone

    person.last_login = timezone.now()
    person.save()
    services.erase_account(user=person)
    person.refresh_from_db()
    assert person.is_erased and person.email is None


def test_notifications_of_others_no_longer_name_her(zoe, bob, world):
    assert Notification.objects.filter(user=bob, text__contains=NICKNAME).exists()

    services.erase_account(user=zoe, password=PASSWORD)

    assert not Notification.objects.filter(text__contains=NICKNAME).exists()
    assert Notification.objects.filter(user=bob, text__contains="Participant·e supprimé·e").exists()


def test_her_rate_limit_counters_are_forgotten(zoe, settings, django_capture_on_commit_callbacks):
    settings.RATE_LIMITS = {"comment": "1/600"}
    ratelimit.hit("comment", zoe)
    assert ratelimit.blocked_for("comment", zoe) > 0

    with django_capture_on_commit_callbacks(execute=True):
        services.erase_account(user=zoe, password=PASSWORD)

    assert ratelimit.blocked_for("comment", zoe) == 0
