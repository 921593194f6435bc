"""Debate pages and forms, plain (no JavaScript) and through htmx."""

import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from debates import services
from debates.models import Comment, Debate, Stance, Vote
from live.models import Event
from tests.debates.conftest import make_debate

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client_en(client):
    client.cookies["django_language"] = "en"
    return client


def login(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


# --- list ----------------------------------------------------------------------------------------------------------

def test_list_shows_open_debates_first_and_filters(client_en, fiona):
    old_open = make_debate(fiona, title="Ancien débat ouvert")
    closed = make_debate(fiona, title="Débat clos sur les pistes cyclables")
    services.close_debate(debate=closed, actor=fiona, conclusions="Des conclusions claires.")
    new_open = make_debate(fiona, title="Nouveau débat sur les bancs")
    html = client_en.get("/debates/").content.decode()
    assert html.index(new_open.title) < html.index(old_open.title) < html.index(closed.title)
    html = client_en.get("/debates/?state=closed").content.decode()
    assert closed.title in html and new_open.title not in html
    html = client_en.get("/debates/?state=open").content.decode()
    assert closed.title not in html and new_open.title in html
    html = client_en.get("/debates/?q=cyclables").content.decode()
    assert closed.title in html and new_open.title not in html and "1 debate found" in html


def test_list_shows_comment_counts(client_en, debate, alice):
    services.post_comment(author=alice, debate=debate, body="Un")
    services.post_comment(author=alice, debate=debate, body="Deux")
    assert "2 comments" in client_en.get("/debates/").content.decode()


# --- create / edit / close -----------------------------------------------------------------------------------------

def test_alice_opens_a_debate_without_javascript(client, alice):
    login(client, alice)
    response = client.post("/debates/new/", {"title": "Des arbres rue Pasteur ?",
                                             "description": "Planter vingt tilleuls rue Pasteur."})
    debate = Debate.objects.get()
    assert response.status_code == 302 and response["Location"] == debate.get_absolute_url()
    assert debate.author == alice and not debate.official


def test_an_invalid_debate_form_says_why(client, alice):
    login(client, alice)
    response = client.post("/debates/new/", {"title": "Abc", "description": "court"})
    assert response.status_code == 400 and not Debate.objects.exists()
    assert "at least 5 characters" in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/debates/new/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_participants_cannot_open_debates_when_the_setting_says_so(client, alice, settings):
    settings.DEBATES_PARTICIPANTS_CAN_CREATE = False
    login(client, alice)
    assert client.get("/debates/new/").status_code == 403


def test_the_author_closes_with_conclusions(client, alice, bob):
    debate = make_debate(alice)
    login(client, bob)
    assert client.get(f"/debates/{debate.pk}/close/").status_code == 403
    login(client, alice)
    response = client.post(f"/debates/{debate.pk}/close/", {"conclusions": "Court"})
    assert response.status_code == 400
    response = client.post(f"/debates/{debate.pk}/close/", {"conclusions": "Un essai sera mené au printemps."})
    assert response.status_code == 302
    html = client.get(debate.get_absolute_url()).content.decode()
    assert "Un essai sera mené au printemps." in html and "This debate is closed" in html
    assert 'id="comment-form"' not in html


def test_the_author_edits_the_debate(client, alice):
    debate = make_debate(alice)
    login(client, alice)
    response = client.post(f"/debates/{debate.pk}/edit/", {"title": "Titre corrigé du débat",
                                                           "description": "Nouvelle description détaillée."})
    assert response.status_code == 302
    debate.refresh_from_db()
    assert debate.title == "Titre corrigé du débat"
    assert Event.objects.filter(stream=debate.stream_key, kind="debate.edited").exists()


# --- detail --------------------------------------------------------------------------------------------------------

def test_detail_follows_the_debate_stream_and_shows_the_thread(client_en, debate, alice, bob):
    root = services.post_comment(author=alice, debate=debate, body="Pour **vraiment**", alignment=Stance.FOR)
    reply = services.post_comment(author=bob, debate=debate, body="Pourquoi ?", parent=root)
    response = client_en.get(debate.get_absolute_url())
    html = response.content.decode()
    assert f'data-live-stream="debate.{debate.pk}"' in html
    assert f'id="comment-{root.pk}"' in html and f'id="comment-{reply.pk}"' in html
    assert html.index(f'id="comment-{root.pk}"') < html.index(f'id="replies-{root.pk}"') < \
        html.index(f'id="comment-{reply.pk}"')
    assert "<strong>vraiment</strong>" in html
    assert "Sign in</a> to take part" in html


def test_replies_are_folded_past_three(client_en, debate, alice, bob):
    root = services.post_comment(author=alice, debate=debate, body="Racine")
    replies = [services.post_comment(author=bob, debate=debate, body=f"Réponse {i}", parent=root) for i in range(5)]
    html = client_en.get(debate.get_absolute_url()).content.decode()
    assert f'id="comment-{replies[2].pk}"' in html and f'id="comment-{replies[3].pk}"' not in html
    assert "Show 2 more replies" in html
    fragment = client_en.get(f"/debates/{debate.pk}/comments/{root.pk}/replies/", **HTMX).content.decode()
    assert all(f'id="comment-{r.pk}"' in fragment for r in replies)
    assert f'id="more-replies-{root.pk}" hx-swap-oob="delete"' in fragment
    # Without JavaScript the link leads to the thread's own page, with every reply.
    page = client_en.get(f"/debates/{debate.pk}/comments/{root.pk}/").content.decode()
    assert all(f'id="comment-{r.pk}"' in page for r in replies)


@pytest.mark.parametrize("sort, expected", [("recent", ["c", "b", "a"]), ("oldest", ["a", "b", "c"]),
                                            ("best", ["b", "c", "a"]), ("discussed", ["c", "b", "a"])])
def test_sort_orders(client_en, debate, alice, bob, carol, sort, expected):
    a = services.post_comment(author=alice, debate=debate, body="AAA")
    b = services.post_comment(author=alice, debate=debate, body="BBB")
    c = services.post_comment(author=alice, debate=debate, body="CCC")
    services.vote(comment=b, user=bob, value=1)
    services.vote(comment=a, user=bob, value=-1)
    services.post_comment(author=bob, debate=debate, body="re", parent=c)
    html = client_en.get(f"{debate.get_absolute_url()}?sort={sort}").content.decode()
    ids = {"a": a.pk, "b": b.pk, "c": c.pk}
    positions = sorted(expected, key=lambda k: html.index(f'id="comment-{ids[k]}"'))
    assert positions == expected


def test_load_more_pages_of_twenty_roots(client_en, debate, alice):
    comments = [services.post_comment(author=alice, debate=debate, body=f"n°{i}") for i in range(25)]
    html = client_en.get(f"{debate.get_absolute_url()}?sort=oldest").content.decode()
    assert html.count('class="comment depth-0') == 20 and "Load more comments" in html
    assert f'id="comment-{comments[20].pk}"' not in html
    fragment = client_en.get(f"{debate.get_absolute_url()}?sort=oldest&view=list&page=2&fragment=page",
                             **HTMX).content.decode()
    assert fragment.count('class="comment depth-0') == 5 and "Load more comments" not in fragment
    assert "<html" not in fragment
    # Without JavaScript "load more" is a plain link to the next page.
    page2 = client_en.get(f"{debate.get_absolute_url()}?sort=oldest&page=2").content.decode()
    assert "<html" in page2 and f'id="comment-{comments[24].pk}"' in page2


def test_two_column_view_splits_for_and_against(client_en, debate, alice):
    pro = services.post_comment(author=alice, debate=debate, body="Pour", alignment=Stance.FOR)
    con = services.post_comment(author=alice, debate=debate, body="Contre", alignment=Stance.AGAINST)
    html = client_en.get(f"{debate.get_absolute_url()}?view=columns").content.decode()
    for_col = html[html.index('id="comments-for"'):html.index('id="comments-against"')]
    against_col = html[html.index('id="comments-against"'):html.index('id="comments-neutral"')]
    assert f'id="comment-{pro.pk}"' in for_col and f'id="comment-{con.pk}"' in against_col


def test_moderators_see_hidden_comments_marked_others_see_a_placeholder(client, debate, alice, bob, mona):
    comment = services.post_comment(author=alice, debate=debate, body="Texte masqué")
    services.hide_comment(comment=comment, actor=mona, reason="Insulte")
    html = login(client, bob).get(debate.get_absolute_url()).content.decode()
    assert "Texte masqué" not in html and "hidden by moderation" in html
    html = login(client, mona).get(debate.get_absolute_url()).content.decode()
    assert "Texte masqué" in html and "only moderators see this" in html and "Insulte" in html


# --- comment writes --------------------------------------------------------------------------------------------------

def test_posting_without_javascript_redirects_to_the_new_comment(client, debate, alice):
    login(client, alice)
    response = client.post(f"/debates/{debate.pk}/comments/", {"body": "Mon avis", "alignment": "1"})
    comment = Comment.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"#comment-{comment.pk}")
    assert comment.alignment == Stance.FOR


def test_posting_with_htmx_answers_204_and_lets_the_push_show_it(client, debate, alice):
    login(client, alice)
    response = client.post(f"/debates/{debate.pk}/comments/", {"body": "Mon avis"}, **HTMX)
    assert response.status_code == 204 and Comment.objects.count() == 1


def test_a_refused_comment_with_htmx_goes_into_the_forms_error_slot(client, debate, alice):
    login(client, alice)
    response = client.post(f"/debates/{debate.pk}/comments/", {"body": "x" * 1001}, **HTMX)
    assert response.status_code == 400 and response["HX-Retarget"] == "#comment-form-errors"
    assert "at most 1000" in response.content.decode() and not Comment.objects.exists()


def test_a_refused_comment_without_javascript_comes_back_with_the_text(client, debate, alice):
    login(client, alice)
    response = client.post(f"/debates/{debate.pk}/comments/", {"body": "<b>bien</b> " + "x" * 1000})
    html = response.content.decode()
    assert response.status_code == 400 and "at most 1000" in html
    assert "&lt;b&gt;bien&lt;/b&gt;" in html  # the draft is back, escaped


def test_a_reply_error_targets_the_reply_form(client, debate, alice, bob):
    root = services.post_comment(author=alice, debate=debate, body="Racine")
    login(client, bob)
    response = client.post(f"/debates/{debate.pk}/comments/", {"body": "", "parent": root.pk}, **HTMX)
    assert response["HX-Retarget"] == f"#reply-form-{root.pk}-errors"


def test_rate_limited_comment_says_when_to_retry(client, debate, alice, rate_limits):
    login(client, alice)
    for i in range(3):
        client.post(f"/debates/{debate.pk}/comments/", {"body": f"n°{i}"}, **HTMX)
    response = client.post(f"/debates/{debate.pk}/comments/", {"body": "encore"}, **HTMX)
    assert "try again in" in response.content.decode() and int(response["Retry-After"]) >= 1
    response = client.post(f"/debates/{debate.pk}/comments/", {"body": "encore"})
    assert response.status_code == 429 and "encore" in response.content.decode()
    assert Comment.objects.count() == 3


def test_voting_with_htmx_returns_the_pressed_button(client, debate, alice, bob):
    comment = services.post_comment(author=alice, debate=debate, body="Votez")
    login(client, bob)
    response = client.post(f"/debates/{debate.pk}/comments/{comment.pk}/vote/", {"value": "up"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'aria-pressed="true" data-vote="up"' in html
    assert Vote.objects.get().value == 1
    response = client.post(f"/debates/{debate.pk}/comments/{comment.pk}/vote/", {"value": "none"})
    assert response.status_code == 302 and not Vote.objects.exists()


def test_voting_on_my_own_comment_is_refused_clearly(client, debate, alice):
    comment = services.post_comment(author=alice, debate=debate, body="À moi")
    login(client, alice)
    response = client.post(f"/debates/{debate.pk}/comments/{comment.pk}/vote/", {"value": "up"}, **HTMX)
    assert "own comment" in response.content.decode() and not Vote.objects.exists()


def test_edit_and_delete_own_comment(client, debate, alice, bob):
    comment = services.post_comment(author=alice, debate=debate, body="Premier jet")
    reply = services.post_comment(author=bob, debate=debate, body="Je réponds", parent=comment)
    login(client, alice)
    assert "Premier jet" in client.get(f"/debates/{debate.pk}/comments/{comment.pk}/edit/").content.decode()
    client.post(f"/debates/{debate.pk}/comments/{comment.pk}/edit/", {"body": "Version corrigée"})
    html = client.get(debate.get_absolute_url()).content.decode()
    assert "Version corrigée" in html and "(edited)" in html
    client.post(f"/debates/{debate.pk}/comments/{comment.pk}/delete/", **HTMX)
    html = client.get(debate.get_absolute_url()).content.decode()
    assert "Version corrigée" not in html and "deleted by its author" in html
    assert f'id="comment-{reply.pk}"' in html  # the reply stays in place


def test_bob_cannot_edit_alices_comment(client, debate, alice, bob):
    comment = services.post_comment(author=alice, debate=debate, body="À moi")
    login(client, bob)
    assert client.post(f"/debates/{debate.pk}/comments/{comment.pk}/edit/", {"body": "pirate"}).status_code == 403


def test_a_comment_on_a_debate_that_does_not_exist_is_not_found(client, alice):
    login(client, alice)
    assert client.post("/debates/999999/comments/", {"body": "Où suis-je ?"}).status_code == 404
    assert client.post("/debates/999999/comments/", {"body": "Où suis-je ?"}, **HTMX).status_code == 404
    assert not Comment.objects.exists()


def test_a_comment_id_from_another_debate_is_not_found(client, debate, fiona, alice):
    other = make_debate(fiona, title="Un autre débat encore")
    comment = services.post_comment(author=alice, debate=other, body="Ailleurs")
    assert client.get(f"/debates/{debate.pk}/comments/{comment.pk}/").status_code == 404


# --- a big debate ------------------------------------------------------------------------------------------------------

def fill(debate, people, count):
    """`count` comments: a quarter roots, the rest replies spread over the roots and their replies."""
    now = debate.created_at
    roots = Comment.objects.bulk_create([
        Comment(debate=debate, author=people[i % len(people)], body=f"Racine {i}", body_html=f"<p>Racine {i}</p>",
                alignment=(i % 3) - 1, score=i % 7, created_at=now) for i in range(count // 4)])
    replies = Comment.objects.bulk_create([
        Comment(debate=debate, author=people[i % len(people)], parent=roots[i % len(roots)], root=roots[i % len(roots)],
                depth=1, body=f"Réponse {i}", body_html=f"<p>Réponse {i}</p>", created_at=now)
        for i in range(count // 2)])
    Comment.objects.bulk_create([
        Comment(debate=debate, author=people[i % len(people)], parent=replies[i % len(replies)],
                root_id=replies[i % len(replies)].root_id, depth=2, body=f"Sous-réponse {i}",
                body_html=f"<p>Sous-réponse {i}</p>", created_at=now)
        for i in range(count - count // 4 - count // 2)])
    # The counters the services maintain.
    from django.db.models import Count, OuterRef, Subquery
    from django.db.models.functions import Coalesce
    direct = Comment.objects.filter(parent=OuterRef("pk")).values("parent").annotate(n=Count("pk")).values("n")
    below = Comment.objects.filter(root=OuterRef("pk")).values("root").annotate(n=Count("pk")).values("n")
    Comment.objects.filter(debate=debate).update(reply_count=Coalesce(Subquery(direct), 0))
    Comment.objects.filter(debate=debate, depth=0).update(thread_size=Coalesce(Subquery(below), 0))


def first_page(client, debate):
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(debate.get_absolute_url())
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return len(queries), elapsed, response.content.decode()


@pytest.mark.needs_postgres
def test_first_page_of_a_5000_comment_debate_takes_constant_queries(client, fiona, alice, bob, carol):
    small = make_debate(fiona, title="Petit débat de cinquante")
    big = make_debate(fiona, title="Grand débat de cinq mille")
    fill(small, [alice, bob, carol], 50)
    fill(big, [alice, bob, carol], 5000)
    assert big.comments.count() == 5000
    login(client, bob)
    first_page(client, small)  # warm caches (content types, sessions) on both sides alike
    small_queries, _, _ = first_page(client, small)
    big_queries, elapsed, html = first_page(client, big)
    assert big_queries == small_queries, (small_queries, big_queries)
    assert big_queries <= 20
    assert html.count('class="comment depth-0') == 20
    assert "5000 comments" in html
    print(f"\nfirst page of a 5,000-comment debate: {big_queries} queries, {elapsed * 1000:.0f} ms server time")


def test_a_moderator_locks_comments_with_a_reason_logged_by_moderation(client, debate, mona, bob):
    from live.moderation.models import ActionLog

    login(client, bob)
    client.post(f"/debates/{debate.pk}/lock/", {"locked": "1", "reason": "Trop de tension"})
    debate.refresh_from_db()
    assert not debate.comments_locked
    login(client, mona)
    response = client.post(f"/debates/{debate.pk}/lock/", {"locked": "1", "reason": "Trop de tension"}, **HTMX)
    assert response.status_code == 204
    debate.refresh_from_db()
    assert debate.comments_locked and debate.lock_reason == "Trop de tension"
    assert ActionLog.objects.filter(actor=mona, space=debate.space).exists()
    html = client.get(debate.get_absolute_url()).content.decode()
    assert "Comments are locked by a moderator" in html and 'id="comment-form"' not in html


def test_a_lock_value_other_than_0_or_1_is_refused_and_leaves_the_debate_as_it_is(client, debate, mona):
    # "locked=true" (anything but "1") used to unlock a locked debate, and log an unlock.
    from live.moderation import services as moderation
    from live.moderation.models import ActionLog

    moderation.set_lock(actor=mona, space=debate.space, locked=True, reason="Trop de tension")
    logged = ActionLog.objects.count()
    response = login(client, mona).post(f"/debates/{debate.pk}/lock/", {"locked": "true", "reason": "x"}, **HTMX)
    assert response.status_code == 400 and "Unknown action." in response.content.decode()
    debate.refresh_from_db()
    assert debate.comments_locked and ActionLog.objects.count() == logged


def test_admin_hides_comments_through_moderation(client, debate, alice, admin_user):
    comment = services.post_comment(author=alice, debate=debate, body="À masquer")
    client.force_login(admin_user)
    response = client.post("/admin/debates/comment/", {"action": "hide", "_selected_action": [comment.pk]})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.hidden_at is not None
    assert client.get(f"/admin/debates/debate/{debate.pk}/change/").status_code == 200


def test_reply_edit_and_report_forms_open_in_the_panel_or_on_a_page(client, debate, alice, bob):
    comment = services.post_comment(author=alice, debate=debate, body="Racine")
    login(client, bob)
    panel = client.get(f"/debates/{debate.pk}/comments/{comment.pk}/reply/", **HTMX).content.decode()
    assert f'id="reply-form-{comment.pk}"' in panel and 'name="csrfmiddlewaretoken"' in panel and "<html" not in panel
    page = client.get(f"/debates/{debate.pk}/comments/{comment.pk}/reply/").content.decode()
    assert "<html" in page and 'name="parent"' in page
    report = client.get(f"/debates/{debate.pk}/comments/{comment.pk}/report/", **HTMX).content.decode()
    assert 'name="kind" value="comment"' in report and f'name="id" value="{comment.pk}"' in report
    assert "<html" in client.get(f"/debates/{debate.pk}/comments/{comment.pk}/report/").content.decode()
    login(client, alice)
    edit = client.get(f"/debates/{debate.pk}/comments/{comment.pk}/edit/", **HTMX).content.decode()
    assert f'id="edit-form-{comment.pk}"' in edit and ">Racine</textarea>" in edit


def test_no_reply_form_under_the_third_level(client, debate, alice, bob):
    root = services.post_comment(author=alice, debate=debate, body="1")
    reply = services.post_comment(author=bob, debate=debate, body="2", parent=root)
    deepest = services.post_comment(author=alice, debate=debate, body="3", parent=reply)
    login(client, bob)
    html = client.get(debate.get_absolute_url()).content.decode()
    assert f'href="/debates/{debate.pk}/comments/{reply.pk}/reply/"' in html
    assert f'href="/debates/{debate.pk}/comments/{deepest.pk}/reply/"' not in html
    panel = client.get(f"/debates/{debate.pk}/comments/{deepest.pk}/reply/", **HTMX).content.decode()
    assert "levels deep" in panel and "<form" not in panel


def test_each_column_loads_more_of_its_own_stance(client_en, debate, alice):
    pros = [services.post_comment(author=alice, debate=debate, body=f"Pour {i}", alignment=Stance.FOR)
            for i in range(22)]
    services.post_comment(author=alice, debate=debate, body="Contre", alignment=Stance.AGAINST)
    html = client_en.get(f"{debate.get_absolute_url()}?view=columns&sort=oldest").content.decode()
    assert 'id="load-more-for"' in html and 'id="load-more-against"' not in html
    fragment = client_en.get(f"{debate.get_absolute_url()}?view=columns&sort=oldest&stance=for&page=2"
                             "&fragment=page", **HTMX).content.decode()
    assert f'id="comment-{pros[21].pk}"' in fragment and "Contre" not in fragment
    assert fragment.count('class="comment depth-0') == 2


def test_a_double_submitted_form_makes_one_comment(client, debate, alice):
    login(client, alice)
    html = client.get(debate.get_absolute_url()).content.decode()
    client_id = html.split('name="client_id" value="', 1)[1].split('"', 1)[0]
    assert len(client_id) >= 12
    for _ in range(2):
        response = client.post(f"/debates/{debate.pk}/comments/", {"body": "Une fois", "client_id": client_id})
        assert response.status_code == 302
    assert Comment.objects.count() == 1


def test_a_permalink_shows_a_reply_however_deep_it_was_folded(client_en, debate, alice, bob):
    root = services.post_comment(author=alice, debate=debate, body="Racine")
    middle = services.post_comment(author=bob, debate=debate, body="Milieu", parent=root)
    deep = [services.post_comment(author=alice, debate=debate, body=f"Profond {i}", parent=middle)
            for i in range(5)]
    html = client_en.get(debate.get_absolute_url()).content.decode()
    assert f'id="comment-{deep[4].pk}"' not in html
    html = client_en.get(deep[4].get_absolute_url()).content.decode()
    assert f'id="comment-{deep[4].pk}"' in html and "is-focus" in html


def test_bob_reports_alices_comment_through_moderation(client, debate, alice, bob):
    from live.moderation.models import Report

    comment = services.post_comment(author=alice, debate=debate, body="Un propos limite")
    login(client, bob)
    panel = client.get(f"/debates/{debate.pk}/comments/{comment.pk}/report/", **HTMX).content.decode()
    action = panel.split('action="', 1)[1].split('"', 1)[0]
    response = client.post(action, {"kind": "comment", "id": comment.pk, "reason": "offensive", "details": "Vexant",
                                     "next": debate.get_absolute_url()})
    assert response.status_code in (200, 302)
    report = Report.objects.get()
    assert (report.reporter, report.kind, report.object_id) == (bob, "comment", comment.pk)


def test_the_moderators_hide_form_goes_through_moderation(client, debate, alice, mona):
    comment = services.post_comment(author=alice, debate=debate, body="À masquer")
    login(client, mona)
    html = client.get(debate.get_absolute_url()).content.decode()
    form = html[html.index('class="moderator-only hide-disclosure"'):]
    action = form.split('action="', 1)[1].split('"', 1)[0]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.split("</form>", 1)[0]))
    assert fields["kind"] == "comment" and fields["id"] == str(comment.pk)
    response = client.post(action, {**fields, "action": "hide", "reason": "Propos injurieux"})
    assert response.status_code in (200, 204, 302)
    comment.refresh_from_db()
    assert comment.hidden_at is not None and comment.hidden_by == mona
    assert Event.objects.filter(stream=debate.stream_key, kind="comment.hidden").exists()


# --- made-up ids ------------------------------------------------------------------------------------------------------

def test_a_debate_page_finds_its_debate_and_its_stream_position_in_one_statement(client_en, fiona):
    """The check that keeps a made-up id from leaving a stream counter costs nothing once the stream has one: the
    debate's existence is asked in the counter's own statement."""
    from live.models import StreamCounter

    debate = make_debate(fiona)
    client_en.get(f"/debates/{debate.pk}/")  # the first view creates the stream's counter
    with CaptureQueriesContext(connection) as queries:
        assert client_en.get(f"/debates/{debate.pk}/").status_code == 200
    counters = [q["sql"] for q in queries if StreamCounter._meta.db_table in q["sql"]]
    assert len(counters) == 1 and Debate._meta.db_table in counters[0], counters


@pytest.mark.parametrize("path", ["/debates/{missing}/", "/debates/{missing}/comments/1/",
                                  "/debates/{huge}/", "/debates/{huge}/comments/1/",
                                  "/debates/{debate}/comments/{huge}/"])
def test_a_page_of_a_made_up_id_is_a_404_and_writes_nothing(client_en, fiona, path):
    """Anyone may ask for any id: a missing debate (or one past any integer) is not found, and leaves no stream
    counter behind (a row for each id asked for filled the table)."""
    from live.models import StreamCounter

    debate = make_debate(fiona)
    counters = set(StreamCounter.objects.values_list("key", flat=True))
    url = path.format(missing=debate.pk + 1000, huge="9" * 120, debate=debate.pk)
    assert client_en.get(url).status_code == 404
    assert set(StreamCounter.objects.values_list("key", flat=True)) == counters


def test_in_a_closed_debate_the_edit_page_says_why_and_the_delete_button_stays(client, debate, fiona, alice):
    comment = services.post_comment(author=alice, debate=debate, body="Premier jet")
    services.close_debate(debate=debate, actor=fiona, conclusions="Le conseil retient un essai au printemps.")
    login(client, alice)
    response = client.get(f"/debates/{debate.pk}/comments/{comment.pk}/edit/")
    assert response.status_code == 403
    assert "This debate is closed" in response.content.decode()
    html = client.get(debate.get_absolute_url()).content.decode()
    main = html[html.index(f'id="comment-{comment.pk}-main"'):]
    main = main[:main.index(f'action="/debates/{debate.pk}/comments/{comment.pk}/delete/"')]
    assert "edit-link" not in main or "when-open" in main  # the edit link only shows while the debate is open
    client.post(f"/debates/{debate.pk}/comments/{comment.pk}/delete/", **HTMX)
    assert "deleted by its author" in client.get(debate.get_absolute_url()).content.decode()
