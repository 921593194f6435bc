"""Debate services: the only writers. Each test names the behaviour a resident or a moderator would notice."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from debates import permissions, services
from debates.models import Comment, Debate, Stance, Vote
from live.models import Event
from live.notifications.models import Notification
from live.ratelimit import RateLimited
from tests import helpers
from tests.debates.conftest import make_debate

pytestmark = pytest.mark.django_db


def kinds(debate):
    return list(Event.objects.filter(stream=debate.stream_key).order_by("seq").values_list("kind", flat=True))


# --- comments ------------------------------------------------------------------------------------------------------

def test_alice_posts_a_root_comment_with_a_stance(debate, alice):
    comment = services.post_comment(author=alice, debate=debate, body="Pour, *clairement*.", alignment=Stance.FOR)
    assert comment.depth == 0 and comment.alignment == Stance.FOR
    assert comment.body_html == "<p>Pour, <em>clairement</em>.</p>"
    assert kinds(debate)[-1] == "comment.posted"


@pytest.mark.needs_postgres
def test_a_comment_is_written_with_its_event_in_one_statement(debate, alice):
    """Its id taken with the debate's share lock, the comment's INSERT rides with its event's statement (#17): two
    statements in all; a retry with the same client id then finds it and writes nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.post_comment(author=alice, debate=debate, body="Pour chauffer")
    with CaptureQueriesContext(connection) as queries:
        comment = services.post_comment(author=alice, debate=debate, body="Pour, *clairement*.",
                                        alignment=Stance.FOR, client_id="retry-me-please")
    sent = [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT") and "SAVEPOINT" not in q["sql"]]
    assert len(sent) == 2, sent
    assert sent[-1].startswith('WITH riding0 AS (INSERT INTO "debates_comment"')
    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.body_html, stored.alignment, stored.client_id) == ("<p>Pour, <em>clairement</em>.</p>",
                                                                      Stance.FOR, "retry-me-please")
    assert Event.objects.filter(stream=debate.stream_key).latest("seq").data == {"comment": comment.pk}
    events = Event.objects.count()
    again = services.post_comment(author=alice, debate=debate, body="Pour, *clairement*.", client_id="retry-me-please")
    assert again.pk == comment.pk and Event.objects.count() == events


def test_replies_go_three_levels_deep_and_no_further(debate, alice, bob):
    root = services.post_comment(author=alice, debate=debate, body="Niveau 1")
    reply = services.post_comment(author=bob, debate=debate, body="Niveau 2", parent=root)
    deepest = services.post_comment(author=alice, debate=debate, body="Niveau 3", parent=reply)
    assert (reply.depth, deepest.depth, deepest.root_id) == (1, 2, root.pk)
    before = Comment.objects.count()
    with pytest.raises(ValidationError, match="levels deep"):
        services.post_comment(author=bob, debate=debate, body="Niveau 4", parent=deepest)
    assert Comment.objects.count() == before
    root.refresh_from_db()
    reply.refresh_from_db()
    assert (root.reply_count, root.thread_size, reply.reply_count) == (1, 2, 1)


def test_replies_carry_no_stance(debate, alice, bob):
    root = services.post_comment(author=alice, debate=debate, body="Pour", alignment=Stance.FOR)
    reply = services.post_comment(author=bob, debate=debate, body="Réponse", parent=root, alignment=Stance.AGAINST)
    assert reply.alignment == Stance.NEUTRAL


def test_a_reply_to_a_comment_of_another_debate_is_refused(debate, fiona, alice, bob):
    other = make_debate(fiona, title="Un autre débat de la ville")
    foreign = services.post_comment(author=alice, debate=other, body="Ailleurs")
    with pytest.raises(ValidationError, match="of this debate"):
        services.post_comment(author=bob, debate=debate, body="Ici", parent=foreign)
    assert not Comment.objects.filter(debate=debate).exists()


@pytest.mark.parametrize("body, message", [
    ("", "cannot be empty"),
    ("   \n\t ", "cannot be empty"),
    ("x" * 1001, "at most 1000"),
    ("bonjour\x00", "control characters"),
    ("abc\u202eevil", "control characters"),
])
def test_bad_comments_are_refused_with_a_clear_message(debate, alice, body, message):
    with pytest.raises(ValidationError, match=message):
        services.post_comment(author=alice, debate=debate, body=body)
    assert not Comment.objects.exists()
    assert "comment.posted" not in kinds(debate)


def test_the_length_limit_is_a_setting(debate, alice, settings):
    settings.DEBATES_COMMENT_MAX_LENGTH = 20
    with pytest.raises(ValidationError, match="at most 20"):
        services.post_comment(author=alice, debate=debate, body="x" * 21)


@pytest.mark.parametrize("body", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<div hx-get="/accounts/logout/" hx-trigger="load">x</div>',
    "[clic](javascript:alert(1))",
])
def test_script_and_hx_laden_comments_are_stored_harmless(debate, alice, body):
    comment = services.post_comment(author=alice, debate=debate, body=body)
    assert "<script" not in comment.body_html and "<img" not in comment.body_html
    assert "<div" not in comment.body_html and 'href="javascript' not in comment.body_html
    assert comment.body == body  # the source is kept as typed, for editing


def test_mentions_link_to_profiles_and_notify_once(debate, alice, bob, carol):
    comment = services.post_comment(author=alice, debate=debate, body="@bob et @carol, @bob encore ; @alice ; @personne")
    assert '<a href="/accounts/people/bob/" rel="nofollow ugc noopener">@bob</a>' in comment.body_html
    assert "people/personne" not in comment.body_html
    assert Notification.objects.filter(user=bob, kind="debate.mention").count() == 1
    assert Notification.objects.filter(user=carol, kind="debate.mention").count() == 1
    assert not Notification.objects.filter(user=alice).exists()  # never notified of oneself


def test_a_reply_notifies_the_parents_author_once_even_when_mentioned(debate, alice, bob):
    root = services.post_comment(author=alice, debate=debate, body="Question ?")
    services.post_comment(author=bob, debate=debate, body="@alice voici la réponse", parent=root)
    notes = Notification.objects.filter(user=alice)
    assert [n.kind for n in notes] == ["debate.reply"]
    assert "bob" in notes[0].text and notes[0].url.endswith(f"/comments/{root.pk + 1}/")


def test_replying_to_my_own_comment_notifies_nobody(debate, alice):
    root = services.post_comment(author=alice, debate=debate, body="Moi")
    services.post_comment(author=alice, debate=debate, body="Encore moi", parent=root)
    assert not Notification.objects.exists()


def test_edit_marks_edited_and_notifies_only_new_mentions(debate, alice, bob, carol):
    comment = services.post_comment(author=alice, debate=debate, body="Salut @bob")
    services.edit_comment(comment=comment, actor=alice, body="Salut @bob et @carol")
    comment.refresh_from_db()
    assert comment.edited_at is not None and "@carol" in comment.body_html
    assert Notification.objects.filter(user=bob).count() == 1
    assert Notification.objects.filter(user=carol).count() == 1
    assert kinds(debate)[-1] == "comment.edited"


def test_an_edit_refused_for_its_stance_spends_nothing_of_the_rate_limit(debate, alice, settings, rate_limits):
    settings.RATE_LIMITS = {"comment": "2/60"}
    comment = services.post_comment(author=alice, debate=debate, body="Premier jet", alignment=Stance.FOR)
    for _ in range(3):
        with pytest.raises(ValidationError, match="for, neutral or against"):
            services.edit_comment(comment=comment, actor=alice, body="Deuxième jet", alignment="peut-être")
    services.edit_comment(comment=comment, actor=alice, body="Deuxième jet", alignment=Stance.AGAINST)
    comment.refresh_from_db()
    assert (comment.body, comment.alignment) == ("Deuxième jet", Stance.AGAINST)


def test_bob_cannot_edit_or_delete_alices_comment(debate, alice, bob):
    comment = services.post_comment(author=alice, debate=debate, body="À moi")
    with pytest.raises(PermissionDenied):
        services.edit_comment(comment=comment, actor=bob, body="Piraté")
    with pytest.raises(PermissionDenied):
        services.delete_comment(comment=comment, actor=bob)
    comment.refresh_from_db()
    assert comment.body == "À moi" and comment.deleted_at is None


def test_delete_is_soft_and_keeps_the_replies(debate, alice, bob):
    root = services.post_comment(author=alice, debate=debate, body="Racine", alignment=Stance.FOR)
    reply = services.post_comment(author=bob, debate=debate, body="Réponse", parent=root)
    services.delete_comment(comment=root, actor=alice)
    root.refresh_from_db()
    assert root.deleted_at is not None
    assert Comment.objects.filter(pk=reply.pk, parent=root).exists()
    assert kinds(debate)[-1] == "comment.deleted"
    with pytest.raises(ValidationError, match="no longer available"):
        services.post_comment(author=bob, debate=debate, body="Encore", parent=root)


# --- votes -------------------------------------------------------------------------------------------------------

def test_votes_are_one_per_user_changeable_and_removable(debate, alice, bob, carol):
    comment = services.post_comment(author=alice, debate=debate, body="Votez")
    services.vote(comment=comment, user=bob, value=1)
    services.vote(comment=comment, user=bob, value=1)
    services.vote(comment=comment, user=carol, value=-1)
    comment.refresh_from_db()
    assert (comment.score, comment.upvotes, comment.downvotes) == (0, 1, 1)
    services.vote(comment=comment, user=carol, value=1)
    comment.refresh_from_db()
    assert comment.score == 2
    services.vote(comment=comment, user=bob, value=0)
    comment.refresh_from_db()
    assert comment.score == 1 and Vote.objects.count() == 1
    assert kinds(debate).count("comment.voted") == 4


def test_voting_on_my_own_comment_is_refused(debate, alice):
    comment = services.post_comment(author=alice, debate=debate, body="Le mien")
    with pytest.raises(PermissionDenied, match="own comment"):
        services.vote(comment=comment, user=alice, value=1)
    assert not Vote.objects.exists()


# --- debate states ---------------------------------------------------------------------------------------------------

def test_closing_needs_conclusions_of_10_to_10000_characters(debate, fiona):
    with pytest.raises(ValidationError, match="at least 10"):
        services.close_debate(debate=debate, actor=fiona, conclusions="Court")
    with pytest.raises(ValidationError, match="at most 10000"):
        services.close_debate(debate=debate, actor=fiona, conclusions="x" * 10001)
    debate.refresh_from_db()
    assert not debate.is_closed


def test_closed_debate_takes_no_comment_nor_vote_and_notifies_participants(debate, fiona, alice, bob, carol):
    comment = services.post_comment(author=alice, debate=debate, body="Pour")
    services.post_comment(author=bob, debate=debate, body="Contre", parent=comment)
    Notification.objects.all().delete()
    services.close_debate(debate=debate, actor=fiona, conclusions="Le conseil retient un essai au printemps.")
    assert set(Notification.objects.filter(kind="debate.closed").values_list("user__nickname", flat=True)) == \
        {"alice", "bob"}
    with pytest.raises(PermissionDenied, match="closed"):
        services.post_comment(author=carol, debate=debate, body="Trop tard")
    with pytest.raises(PermissionDenied, match="closed"):
        services.vote(comment=comment, user=carol, value=1)
    assert kinds(debate)[-1] == "debate.closed"
    services.reopen_debate(debate=debate, actor=fiona)
    services.post_comment(author=carol, debate=debate, body="Rouvert !")


def test_locked_comments_refuse_comments_and_votes(debate, mona, alice, bob):
    comment = services.post_comment(author=alice, debate=debate, body="Avant")
    services.lock_comments(debate=debate, actor=mona, locked=True, reason="Ça chauffe")
    with pytest.raises(PermissionDenied, match="locked"):
        services.post_comment(author=bob, debate=debate, body="Après")
    with pytest.raises(PermissionDenied, match="locked"):
        services.vote(comment=comment, user=bob, value=1)
    services.lock_comments(debate=debate, actor=mona, locked=False)
    services.vote(comment=comment, user=bob, value=1)
    assert kinds(debate)[-3:] == ["debate.locked", "debate.unlocked", "comment.voted"]


def test_the_opening_window_bounds_comments(fiona, alice):
    now = timezone.now()
    early = make_debate(fiona, title="Pas encore ouvert", starts_at=now + timedelta(days=1))
    late = make_debate(fiona, title="Déjà terminé", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    with pytest.raises(PermissionDenied, match="open on"):
        services.post_comment(author=alice, debate=early, body="Trop tôt")
    with pytest.raises(PermissionDenied, match="closed on"):
        services.post_comment(author=alice, debate=late, body="Trop tard")


def test_anonymous_visitors_cannot_comment(debate):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied, match="Sign in"):
        services.post_comment(author=AnonymousUser(), debate=debate, body="Coucou")


def test_slow_mode_spaces_one_persons_comments(debate, mona, alice):
    services.set_slow_mode(debate=debate, actor=mona, seconds=60)
    services.post_comment(author=alice, debate=debate, body="Un")
    with pytest.raises(ValidationError, match="Slow mode"):
        services.post_comment(author=alice, debate=debate, body="Deux")


def test_a_comment_refused_by_the_rate_limit_leaves_the_slow_mode_slot(debate, fiona, mona, alice, settings,
                                                                      rate_limits):
    """Alice's comments elsewhere used up her rate limit: the comment it refuses here is not written, so it does
    not start this debate's slow-mode delay either. Once the limit lets her through, she comments at once."""
    from live import ratelimit

    settings.RATE_LIMITS = {"comment": "1/60"}
    services.set_slow_mode(debate=debate, actor=mona, seconds=60)
    services.post_comment(author=alice, debate=make_debate(fiona, title="Un autre débat"), body="Ailleurs")
    with pytest.raises(RateLimited):
        services.post_comment(author=alice, debate=debate, body="Refusé par la limite")
    ratelimit.reset("comment", alice)  # the rate limit's window has passed
    services.post_comment(author=alice, debate=debate, body="Enfin")
    assert list(Comment.objects.filter(debate=debate).values_list("body", flat=True)) == ["Enfin"]
    ratelimit.reset("comment", alice)
    with pytest.raises(ValidationError, match="Slow mode"):  # the comment written did start the delay
        services.post_comment(author=alice, debate=debate, body="Trop tôt")


def test_a_comment_refused_by_the_slow_mode_spends_nothing_of_the_rate_limit(debate, fiona, mona, alice, settings,
                                                                             rate_limits):
    """Alice tries twice too early in a slow debate: both refused, nothing written, and her rate limit (3 comments
    a minute) is untouched: she can still comment in another debate as often as if she had not tried."""
    settings.RATE_LIMITS = {"comment": "3/60"}
    services.set_slow_mode(debate=debate, actor=mona, seconds=60)
    services.post_comment(author=alice, debate=debate, body="Un")
    for body in ("Trop tôt", "Encore trop tôt"):
        with pytest.raises(ValidationError, match="Slow mode"):
            services.post_comment(author=alice, debate=debate, body=body)
    elsewhere = make_debate(fiona, title="Un autre débat")
    services.post_comment(author=alice, debate=elsewhere, body="Deux")
    services.post_comment(author=alice, debate=elsewhere, body="Trois")
    with pytest.raises(RateLimited):
        services.post_comment(author=alice, debate=elsewhere, body="Quatre")
    assert Comment.objects.count() == 3


def test_comment_rate_limit_gives_a_retry_delay(debate, alice, rate_limits):
    for i in range(3):
        services.post_comment(author=alice, debate=debate, body=f"Message {i}")
    with pytest.raises(RateLimited) as exc:
        services.post_comment(author=alice, debate=debate, body="Un de trop")
    assert exc.value.retry_after >= 1 and "seconds" in exc.value.message
    assert Comment.objects.count() == 3


def test_vote_rate_limit(debate, alice, bob, settings, rate_limits):
    settings.RATE_LIMITS = {"vote": "2/60"}
    comment = services.post_comment(author=alice, debate=debate, body="Votez")
    services.vote(comment=comment, user=bob, value=1)
    services.vote(comment=comment, user=bob, value=-1)
    with pytest.raises(RateLimited):
        services.vote(comment=comment, user=bob, value=1)
    comment.refresh_from_db()
    assert comment.score == -1


# --- moderation --------------------------------------------------------------------------------------------------------

def test_hide_and_unhide_append_events_and_leave_tallies(debate, alice, mona):
    from debates.selectors import tallies

    comment = services.post_comment(author=alice, debate=debate, body="Injurieux", alignment=Stance.AGAINST)
    assert tallies(debate)["against"] == 1
    services.hide_comment(comment=comment, actor=mona, reason="Insulte")
    comment.refresh_from_db()
    assert comment.hidden_at and comment.hidden_by == mona and comment.hidden_reason == "Insulte"
    assert tallies(debate)["against"] == 0
    services.unhide_comment(comment=comment, actor=mona)
    assert kinds(debate)[-2:] == ["comment.hidden", "comment.unhidden"]
    assert tallies(debate)["against"] == 1


def test_comment_is_registered_with_moderation(debate, alice, mona):
    from live.moderation import registry

    entry = registry.get("comment")
    comment = services.post_comment(author=alice, debate=debate, body="**Signalez** moi")
    assert entry.model is Comment and entry.space(comment) == f"debate.{debate.pk}"
    assert entry.excerpt(comment) == "Signalez moi"
    entry.hide(comment, actor=mona, reason="spam")
    comment.refresh_from_db()
    assert entry.is_hidden(comment)
    assert entry.hide_all_by(alice, actor=mona, reason="bloquée") == []  # nothing more: already hidden


# --- permissions per role ---------------------------------------------------------------------------------------------

ROLES = ["participant", "facilitator", "moderator", "administrator"]


def person(role):
    return helpers.make_user(f"someone-{role}", role=role)


@pytest.mark.parametrize("role, allowed", [("participant", False), ("facilitator", True), ("moderator", True),
                                           ("administrator", True), ("author", True)])
def test_who_may_close_a_debate(alice, role, allowed):
    debate = make_debate(alice)
    actor = alice if role == "author" else person(role)
    if allowed:
        services.close_debate(debate=debate, actor=actor, conclusions="Des conclusions suffisantes.")
    else:
        with pytest.raises(PermissionDenied):
            services.close_debate(debate=debate, actor=actor, conclusions="Des conclusions suffisantes.")
    debate.refresh_from_db()
    assert debate.is_closed is allowed


@pytest.mark.parametrize("role, allowed", [("participant", False), ("facilitator", False), ("moderator", True),
                                           ("administrator", True), ("author", False), ("space-moderator", True)])
def test_who_may_lock_comments(alice, role, allowed):
    from live.accounts.models import RoleAssignment

    debate = make_debate(alice)
    if role == "author":
        actor = alice
    elif role == "space-moderator":
        actor = person("participant")
        RoleAssignment.objects.create(user=actor, role="moderator", space=debate.space)
    else:
        actor = person(role)
    if allowed:
        services.lock_comments(debate=debate, actor=actor, locked=True)
    else:
        with pytest.raises(PermissionDenied):
            services.lock_comments(debate=debate, actor=actor, locked=True)
    debate.refresh_from_db()
    assert debate.comments_locked is allowed


@pytest.mark.parametrize("role, allowed", [("participant", False), ("facilitator", True), ("moderator", False),
                                           ("administrator", True), ("author", True)])
def test_who_may_edit_a_debate_and_post_updates(alice, role, allowed):
    debate = make_debate(alice)
    actor = alice if role == "author" else person(role)
    if allowed:
        services.edit_debate(debate=debate, actor=actor, title="Nouveau titre du débat",
                             description="Une description mise à jour.")
        services.post_update(debate=debate, actor=actor, body="Du nouveau")
    else:
        with pytest.raises(PermissionDenied):
            services.edit_debate(debate=debate, actor=actor, title="Nouveau titre du débat",
                                 description="Une description mise à jour.")
        with pytest.raises(PermissionDenied):
            services.post_update(debate=debate, actor=actor, body="Du nouveau")
    debate.refresh_from_db()
    assert (debate.title == "Nouveau titre du débat") is allowed


@pytest.mark.parametrize("participants_can_create", [True, False])
@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_a_debate(settings, role, participants_can_create):
    settings.DEBATES_PARTICIPANTS_CAN_CREATE = participants_can_create
    actor = person(role)
    allowed = participants_can_create or role in ("facilitator", "administrator")
    if allowed:
        debate = make_debate(actor)
        assert debate.official is (role in ("facilitator", "administrator"))
    else:
        with pytest.raises(PermissionDenied):
            make_debate(actor)


@pytest.mark.parametrize("role", ROLES)
def test_every_signed_in_role_may_comment_on_an_open_debate(debate, role):
    comment = services.post_comment(author=person(role), debate=debate, body="Mon avis")
    assert comment.pk


def test_a_blocked_person_cannot_comment(debate, alice):
    alice.blocked_at = timezone.now()
    alice.save()
    with pytest.raises(PermissionDenied):
        services.post_comment(author=alice, debate=debate, body="Bloquée")


def test_demo_seed_is_idempotent(alice, bob, carol, mona, fiona):
    from debates import demo
    from debates.models import Debate

    demo.seed(stdout=None)
    demo.seed(stdout=None)
    debate = Debate.objects.get(title=demo.TITLE)
    assert debate.comments.count() == len(demo.THREAD)
    assert debate.comments.filter(depth=2).exists()


def test_a_retried_post_with_the_same_client_id_makes_one_comment(debate, alice, bob):
    first = services.post_comment(author=alice, debate=debate, body="Une fois", client_id="abcdefgh1234")
    again = services.post_comment(author=alice, debate=debate, body="Une fois", client_id="abcdefgh1234")
    assert again.pk == first.pk and Comment.objects.count() == 1
    assert kinds(debate).count("comment.posted") == 1
    # Another person's id space is their own; a malformed id is ignored.
    services.post_comment(author=bob, debate=debate, body="Moi aussi", client_id="abcdefgh1234")
    services.post_comment(author=alice, debate=debate, body="Deux", client_id="<bad>")
    services.post_comment(author=alice, debate=debate, body="Trois", client_id="<bad>")
    assert Comment.objects.count() == 4


@pytest.mark.parametrize("state", ["closed", "locked", "ended"])
def test_a_finished_record_takes_no_edit_but_its_author_may_still_withdraw_their_words(fiona, mona, alice, bob,
                                                                                     state):
    """One rule (docs/debates.md, "Who may do what"): once a debate stops taking comments, what was said is final,
    except that its author may always withdraw their own words (a placeholder stays)."""
    debate = make_debate(fiona)
    comment = services.post_comment(author=alice, debate=debate, body="Mon adresse est 3 rue des Lilas")
    kept = services.post_comment(author=alice, debate=debate, body="Pour le samedi")
    if state == "closed":
        services.close_debate(debate=debate, actor=fiona, conclusions="Le conseil retient un essai au printemps.")
    elif state == "locked":
        services.lock_comments(debate=debate, actor=mona, locked=True, reason="Ça chauffe")
    else:
        Debate.objects.filter(pk=debate.pk).update(starts_at=timezone.now() - timedelta(days=2),
                                                   ends_at=timezone.now() - timedelta(days=1))
    for which in (comment, kept):
        which.refresh_from_db()
    assert not permissions.can_edit_comment(alice, kept)
    with pytest.raises(PermissionDenied, match={"closed": "closed", "locked": "locked", "ended": "closed on"}[state]):
        services.edit_comment(comment=kept, actor=alice, body="Contre, finalement")
    kept.refresh_from_db()
    assert kept.body == "Pour le samedi" and kept.edited_at is None
    assert permissions.can_delete_comment(alice, comment) and not permissions.can_delete_comment(bob, comment)
    with pytest.raises(PermissionDenied):
        services.delete_comment(comment=comment, actor=bob)
    services.delete_comment(comment=comment, actor=alice)
    comment.refresh_from_db()
    assert comment.is_deleted and kinds(debate)[-1] == "comment.deleted"
