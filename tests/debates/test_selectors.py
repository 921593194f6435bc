"""The counts the pushes read, written out in SQL for speed (#17), agree with their ORM definition; the list's
comment count is pushed only while some socket follows the list."""

import pytest
from django.db.models import Count, Q

from debates import selectors, services
from debates import streams as debate_streams
from debates.models import LIST_STREAM, Comment, Debate, Stance
from live import streams, variants
from tests.debates.conftest import make_debate

pytestmark = pytest.mark.django_db


def orm_tallies(debate) -> dict:
    visible = Comment.objects.filter(debate=debate).visible()
    roots = visible.filter(parent__isnull=True)
    return {"total": visible.count(), "for": roots.filter(alignment=Stance.FOR).count(),
            "neutral": roots.filter(alignment=Stance.NEUTRAL).count(),
            "against": roots.filter(alignment=Stance.AGAINST).count()}


@pytest.fixture
def busy_debate(fiona, alice, bob, mona):
    """Roots of every stance, replies (which count in the total, never as a stance), a deleted and a hidden
    comment (which count nowhere), and another debate's comments (which count nowhere here)."""
    debate, other = make_debate(fiona), make_debate(fiona, title="Un autre débat")
    for author, stance in [(alice, Stance.FOR), (bob, Stance.FOR), (alice, Stance.AGAINST), (bob, Stance.NEUTRAL)]:
        services.post_comment(author=author, debate=debate, body="Un avis", alignment=stance)
    root = Comment.objects.filter(debate=debate).first()
    services.post_comment(author=bob, debate=debate, body="Une réponse", parent=root)
    gone = services.post_comment(author=alice, debate=debate, body="Je retire", alignment=Stance.AGAINST)
    services.delete_comment(comment=gone, actor=alice)
    hidden = services.post_comment(author=bob, debate=debate, body="Hors sujet", alignment=Stance.FOR)
    services.hide_comment(comment=hidden, actor=mona, reason="hors sujet")
    services.post_comment(author=alice, debate=other, body="Ailleurs", alignment=Stance.FOR)
    return debate


def test_tallies_count_as_the_orm_does(busy_debate):
    tallies = selectors.tallies(busy_debate)
    assert {key: tallies[key] for key in ("total", "for", "neutral", "against")} == orm_tallies(busy_debate) == {
        "total": 5, "for": 2, "neutral": 1, "against": 1}
    assert (tallies["roots"], tallies["for_pct"], tallies["against_pct"], tallies["neutral_pct"]) == (4, 50, 25, 25)


def test_tallies_of_a_debate_without_comments_are_zero(fiona):
    tallies = selectors.tallies(make_debate(fiona))
    assert tallies["total"] == tallies["roots"] == tallies["for_pct"] == tallies["neutral_pct"] == 0


def test_the_list_count_is_the_lists_own(busy_debate):
    listed = Debate.objects.annotate(comment_count=Count("comments", filter=Q(
        comments__deleted_at__isnull=True, comments__hidden_at__isnull=True))).get(pk=busy_debate.pk)
    assert selectors.comment_count(busy_debate.pk) == listed.comment_count == 5
    assert selectors.comment_count(busy_debate.pk + 1000) is None


def broadcasts(monkeypatch) -> list:
    sent = []
    monkeypatch.setattr(streams, "broadcast", lambda key, html: sent.append((key, html)))
    return sent


def test_the_list_count_is_pushed_while_someone_follows_the_list(busy_debate, monkeypatch):
    sent = broadcasts(monkeypatch)
    variants.mark([(LIST_STREAM, "public:fr")])
    debate_streams.comment_count_changed(busy_debate.pk)
    [(key, html)] = sent
    assert key == LIST_STREAM
    assert f'id="debate-comments-{busy_debate.pk}"' in html and "5 commentaires" in html and "5 comments" in html


def test_no_count_is_read_nor_pushed_when_nobody_follows_the_list(busy_debate, monkeypatch,
                                                                   django_assert_num_queries):
    sent = broadcasts(monkeypatch)
    with django_assert_num_queries(0):
        debate_streams.comment_count_changed(busy_debate.pk)
    assert sent == []


def test_the_count_is_pushed_when_who_follows_is_unknown(busy_debate, monkeypatch, settings):
    settings.LIVE_RENDER_FOLLOWED_ONLY = False
    sent = broadcasts(monkeypatch)
    debate_streams.comment_count_changed(busy_debate.pk)
    assert len(sent) == 1
