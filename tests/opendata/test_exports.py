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
    assert "public" in response["Cache-Control"] and "max-age" in response["Cache-Control"]

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
