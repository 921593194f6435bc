import csv
import io

import pytest

from live.moderation import services
from live.moderation.models import ActionLog, Case
from tests import helpers
from tests.moderation.conftest import HIDDEN, make_thing

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def reported(alice, bob):
    """alice's thing in debate.7, reported by bob; another in debate.8."""
    here = make_thing(alice, "Ici, dans le débat 7", space="debate.7")
    there = make_thing(alice, "Là-bas, dans le débat 8", space="debate.8")
    for thing in (here, there):
        services.report(reporter=bob, kind="thing", object_id=thing.pk, reason="offensive", details="grossier")
    return here, there


@pytest.mark.parametrize("who,status", [("anonymous", 302), ("bob", 403), ("fiona", 403), ("mona", 200),
                                         ("sam", 200), ("adminette", 200)])
def test_who_sees_the_queue(client, bob, fiona, mona, sam, admin_user, who, status):
    users = {"bob": bob, "fiona": fiona, "mona": mona, "sam": sam, "adminette": admin_user}
    if who in users:
        login(client, users[who])
    assert client.get("/moderation/").status_code == status


def test_a_global_moderator_sees_every_reported_item_with_its_reasons(client, mona, reported):
    page = login(client, mona).get("/moderation/").content.decode()
    assert "Ici, dans le débat 7" in page and "Là-bas, dans le débat 8" in page
    assert "grossier" in page and 'data-live-stream="moderation.global"' in page


def test_a_space_moderator_sees_their_space_only(client, sam, reported):
    page = login(client, sam).get("/moderation/").content.decode()
    assert "Ici, dans le débat 7" in page
    assert "Là-bas, dans le débat 8" not in page
    assert 'data-live-stream="moderation.debate.7"' in page and "moderation.global" not in page


def test_most_reported_first(client, mona, reported, carol):
    here, there = reported
    services.report(reporter=carol, kind="thing", object_id=here.pk, reason="spam")
    services.report(reporter=carol, kind="thing", object_id=there.pk, reason="spam")
    dave = helpers.make_user("dave")
    services.report(reporter=dave, kind="thing", object_id=here.pk, reason="spam")  # here: 3 reports
    newest = login(client, mona).get("/moderation/").content.decode()
    most = client.get("/moderation/?sort=most").content.decode()
    assert most.index("Ici, dans le débat 7") < most.index("Là-bas, dans le débat 8")
    assert newest.index("Ici, dans le débat 7") < newest.index("Là-bas, dans le débat 8")  # reported last too
    services.report(reporter=dave, kind="thing", object_id=there.pk, reason="spam")
    newest = client.get("/moderation/").content.decode()
    assert newest.index("Là-bas, dans le débat 8") < newest.index("Ici, dans le débat 7")


def test_hide_from_the_queue(client, mona, reported):
    here, _there = reported
    response = login(client, mona).post("/moderation/act/", {"kind": "thing", "id": here.pk, "action": "hide",
                                                             "reason": "Insulte"})
    assert response.status_code == 302
    assert HIDDEN[here.pk] == "Insulte"
    assert "Ici, dans le débat 7" not in client.get("/moderation/").content.decode().split('id="hidden-heading"')[0]


def test_a_space_moderator_cannot_act_outside_their_space(client, sam, reported):
    _here, there = reported
    response = login(client, sam).post("/moderation/act/", {"kind": "thing", "id": there.pk, "action": "hide",
                                                            "reason": "x"})
    assert response.status_code == 403
    assert there.pk not in HIDDEN


def test_participants_cannot_act(client, bob, reported):
    here, _ = reported
    response = login(client, bob).post("/moderation/act/", {"kind": "thing", "id": here.pk, "action": "dismiss"},
                                       HTTP_HX_REQUEST="true")
    assert response.status_code == 403 and response["HX-Retarget"] == "#flash"  # the service says why
    assert Case.objects.get(object_id=here.pk).status == Case.Status.OPEN


def test_the_block_form(client, mona, alice):
    login(client, mona)
    assert client.get(f"/moderation/people/{alice.pk}/").status_code == 200
    response = client.post(f"/moderation/people/{alice.pk}/", {"action": "block", "reason": ""}, follow=True)
    alice.refresh_from_db()
    assert not alice.is_blocked
    response = client.post(f"/moderation/people/{alice.pk}/", {"action": "block", "reason": "Spam en série"},
                           follow=True)
    alice.refresh_from_db()
    assert alice.is_blocked and response.status_code == 200


def test_the_moderation_link_shows_to_moderators_only(client, bob, mona, sam):
    assert 'href="/moderation/"' not in login(client, bob).get("/moderation/mine/").content.decode()
    assert 'href="/moderation/"' in login(client, mona).get("/moderation/mine/").content.decode()
    assert 'href="/moderation/"' in login(client, sam).get("/moderation/mine/").content.decode()


def test_authors_see_why_their_content_was_hidden(client, alice, mona, reported):
    here, _ = reported
    services.hide(actor=mona, kind="thing", object_id=here.pk, reason="Propos injurieux")
    services.warn(actor=mona, user=alice, reason="Dernier avertissement")
    page = login(client, alice).get("/moderation/mine/").content.decode()
    assert "Propos injurieux" in page and "Dernier avertissement" in page


class TestLog:
    def test_for_administrators_only(self, client, mona, bob, admin_user):
        assert login(client, mona).get("/moderation/log/").status_code == 403
        assert login(client, bob).get("/moderation/log/").status_code == 403
        assert login(client, admin_user).get("/moderation/log/").status_code == 200

    def test_filters_and_csv(self, client, admin_user, mona, alice, reported):
        here, there = reported
        services.hide(actor=mona, kind="thing", object_id=here.pk, reason="=HYPERLINK(\"http://evil\")")
        services.dismiss(actor=mona, kind="thing", object_id=there.pk, reason="ok")
        login(client, admin_user)
        page = client.get("/moderation/log/?action=hide").content.decode()
        assert "HYPERLINK" in page and "ok</td>" not in page
        assert "Ici" not in client.get("/moderation/log/?space=debate.8").content.decode().split("<tbody>")[1]
        response = client.get("/moderation/log/?action=hide&format=csv")
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][:3] == ["when", "moderator", "action"]
        assert len(rows) == 2 and rows[1][1] == "mona" and rows[1][2] == "hide" and rows[1][6] == "alice"
        assert rows[1][7].startswith("'=")  # no formula injection into spreadsheets
        assert client.get("/moderation/log/?since=2000-01-01&until=2000-01-31").content.decode().count("<tr>") == 2


def test_transparency_is_public_and_has_no_personal_data(client, mona, reported, alice, bob):
    here, _ = reported
    services.hide(actor=mona, kind="thing", object_id=here.pk, reason="Propos injurieux")
    response = client.get("/moderation/transparency/")
    page = response.content.decode()
    assert response.status_code == 200
    for private in ("alice", "bob", "mona", "Propos injurieux", "Ici, dans le débat 7", "grossier"):
        assert private not in page
    row = page.split("<tbody>")[1].split("</tr>")[0]
    assert "<td>2</td><td>1</td>" in row  # 2 reports, 1 hidden this month
    assert ActionLog.objects.filter(action="hide").count() == 1


def test_out_of_range_ids_are_not_found(client, mona):
    login(client, mona)
    assert client.get(f"/moderation/people/{10**30}/").status_code == 404
    assert client.get(f"/moderation/spaces/debate.{10**30}/").status_code == 404
    assert client.get("/moderation/spaces/nowhere/").status_code == 404


def test_the_space_page_locks_and_slows_down(client, mona, sam, alice):
    from tests.moderation.conftest import ROOMS

    space = f"room.{alice.pk}"
    assert login(client, sam).get(f"/moderation/spaces/{space}/").status_code == 404  # not his space
    login(client, mona)
    page = client.get(f"/moderation/spaces/{space}/").content.decode()
    assert 'name="action" value="lock"' in page and 'name="seconds"' in page
    client.post(f"/moderation/spaces/{space}/", {"action": "lock", "reason": "Pause"})
    client.post(f"/moderation/spaces/{space}/", {"action": "slow_mode", "seconds": "20"})
    assert ROOMS[space] == {"locked": True, "slow": 20}
    assert 'value="unlock"' in client.get(f"/moderation/spaces/{space}/").content.decode()


def test_a_space_moderator_sees_only_their_space_on_a_persons_page(client, sam, mona, alice, bob, reported):
    """sam moderates debate.7 only: alice's page shows him her debate.7 history, not what happened elsewhere, and not
    the reports about her profile (a profile belongs to no space: global moderators handle them)."""
    here, there = reported
    services.report(reporter=bob, kind="user", object_id=alice.pk, reason="offensive", details="profil insultant")
    services.hide(actor=mona, kind="thing", object_id=here.pk, reason="Motif du débat 7")
    services.hide(actor=mona, kind="thing", object_id=there.pk, reason="Motif du débat 8")
    services.warn(actor=mona, user=alice, reason="Avertissement général")
    page = login(client, sam).get(f"/moderation/people/{alice.pk}/").content.decode()
    assert "Motif du débat 7" in page
    assert "Motif du débat 8" not in page and "Avertissement général" not in page
    assert "profil insultant" not in page and bob.public_name not in page
    page = login(client, mona).get(f"/moderation/people/{alice.pk}/").content.decode()
    assert "Motif du débat 7" in page and "Motif du débat 8" in page and "Avertissement général" in page
    assert "profil insultant" in page and bob.public_name in page


def test_a_space_moderator_sees_that_a_person_is_blocked_not_why(client, sam, mona, alice):
    """A block is a global moderator's decision about the whole platform: its reason (sent to the person, in the
    log without a space) is for global moderators, as the rest of that history is."""
    services.block(actor=mona, user=alice, reason="Harcèlement dans plusieurs espaces")
    page = login(client, sam).get(f"/moderation/people/{alice.pk}/").content.decode()
    assert "Harcèlement dans plusieurs espaces" not in page
    assert "flash-error" in page  # the status is shown
    page = login(client, mona).get(f"/moderation/people/{alice.pk}/").content.decode()
    assert "Harcèlement dans plusieurs espaces" in page
