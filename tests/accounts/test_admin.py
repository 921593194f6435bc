"""The Django admin: administrators only; role and block changes made there reach the person's sockets."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from live.accounts.models import RoleAssignment
from live.models import Event

pytestmark = pytest.mark.django_db

URL = "/admin/accounts/user/"


@pytest.mark.parametrize("role", ["participant", "facilitator", "moderator"])
def test_it_keeps_non_administrators_out(client, role):
    from tests.helpers import make_user

    client.force_login(make_user("someone", role=role))
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_it_lists_accounts_for_administrators(client, admin_user, alice):
    client.force_login(admin_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert "alice@example.org" in response.content.decode()


def change(client, user, **fields):
    """Post the admin change form of `user` with its current values, some changed."""
    data = {
        "username": user.username, "nickname": user.nickname, "email": user.email or "", "role": user.role,
        "bio": user.bio, "first_name": "", "last_name": "", "is_active": "on" if user.is_active else "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"), "date_joined_1": "10:00:00",
        "blocked_at_0": "", "blocked_at_1": "", "blocked_reason": "",
        "role_assignments-TOTAL_FORMS": "0", "role_assignments-INITIAL_FORMS": "0",
        "role_assignments-MIN_NUM_FORMS": "0", "role_assignments-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return client.post(f"{URL}{user.pk}/change/", {k: v for k, v in data.items() if v != ""})


def test_a_role_change_in_the_admin_reauthorizes_the_sockets(client, admin_user, alice):
    client.force_login(admin_user)
    response = change(client, alice, role="moderator")
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.role == "moderator"
    [event] = Event.objects.filter(stream=alice.stream_key, kind="roles.changed")
    assert event.data["_control"] == {"reauthorize": True}


def test_a_scoped_role_added_in_the_admin_reauthorizes_the_sockets(client, admin_user, alice):
    client.force_login(admin_user)
    response = change(client, alice, **{
        "role_assignments-TOTAL_FORMS": "1", "role_assignments-0-role": "moderator",
        "role_assignments-0-space": "debate.42", "role_assignments-0-user": str(alice.pk)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert RoleAssignment.objects.filter(user=alice, space="debate.42").exists()
    assert Event.objects.filter(stream=alice.stream_key, kind="roles.changed").exists()


def test_blocking_in_the_admin_goes_through_moderation(client, admin_user, alice,
                                                        django_capture_on_commit_callbacks):
    from django.core import mail

    from live.moderation.models import ActionLog

    client.force_login(admin_user)
    now = timezone.localtime()
    with django_capture_on_commit_callbacks(execute=True):
        response = change(client, alice, blocked_at_0=now.strftime("%Y-%m-%d"),
                          blocked_at_1=now.strftime("%H:%M:%S"), blocked_reason="spam")
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.is_blocked and alice.blocked_reason == "spam"
    [event] = Event.objects.filter(stream=alice.stream_key, kind="account.blocked")
    assert event.data["_control"]["close"] == 4403
    assert ActionLog.objects.filter(target_user=alice, action="block", reason="spam").exists()
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]

    response = change(client, alice, blocked_at_0="", blocked_at_1="", blocked_reason="")
    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.is_blocked
    assert ActionLog.objects.filter(target_user=alice, action="unblock").exists()


def test_an_administrator_cannot_block_themselves_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    now = timezone.localtime()
    response = change(client, admin_user, blocked_at_0=now.strftime("%Y-%m-%d"),
                      blocked_at_1=now.strftime("%H:%M:%S"), blocked_reason="oops", is_staff="on",
                      is_superuser="on", role="administrator")
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert not admin_user.is_blocked


def test_an_unchanged_save_publishes_nothing(client, admin_user, alice):
    client.force_login(admin_user)
    assert change(client, alice).status_code == 302
    assert not Event.objects.filter(stream=alice.stream_key).exists()


def test_accounts_are_deactivated_not_deleted_in_the_admin(client, admin_user, alice):
    client.force_login(admin_user)
    assert client.post(f"{URL}{alice.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(URL, {"action": "delete_selected", "post": "yes", "_selected_action": [alice.pk]})
    alice.refresh_from_db()  # still there


def test_a_role_and_an_address_changed_in_one_save_each_have_their_consequence(client, admin_user, alice):
    client.force_login(admin_user)
    response = change(client, alice, role="moderator", email="alice.new@example.org")
    assert response.status_code == 302, response.content.decode()[:2000]
    kinds = set(Event.objects.filter(stream=alice.stream_key).values_list("kind", flat=True))
    assert {"roles.changed", "session.ended"} <= kinds


def test_a_block_reason_is_not_rewritten_on_its_own_in_the_admin(client, admin_user, alice):
    from live.accounts.models import User
    from live.moderation import services as moderation
    from live.moderation.models import ActionLog

    moderation.block(actor=admin_user, user=alice, reason="Harcèlement")
    User.objects.filter(pk=alice.pk).update(blocked_at=timezone.now().replace(microsecond=0))
    alice.refresh_from_db()
    client.force_login(admin_user)
    when = timezone.localtime(alice.blocked_at)
    response = change(client, alice, blocked_at_0=when.strftime("%Y-%m-%d"), blocked_at_1=when.strftime("%H:%M:%S"),
                      blocked_reason="Autre chose")
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_blocked and alice.blocked_reason == "Harcèlement"
    assert list(ActionLog.objects.filter(target_user=alice).values_list("reason", flat=True)) == ["Harcèlement"]


# --- who changes rights in the admin: administrators only, as through live.accounts.services ------------------------

def rights_of(user):
    user.refresh_from_db()
    return (user.role, user.is_staff, user.is_superuser, list(user.groups.all()), list(user.user_permissions.all()),
            list(user.role_assignments.values_list("role", "space")))


@pytest.mark.parametrize("fields", [
    {"role": "administrator"},
    {"role": "moderator"},
    {"is_superuser": "on", "is_staff": "on"},
    {"is_staff": "on"},
    {"groups": "GROUP"},
    {"user_permissions": "PERMISSION"},
    {"role_assignments-TOTAL_FORMS": "1", "role_assignments-0-role": "moderator",
     "role_assignments-0-space": "debate.42", "role_assignments-0-user": "USER"},
])
@pytest.mark.parametrize("whose", ["own", "alice"])
def test_staff_with_change_user_cannot_change_rights_in_the_admin(client, stella, alice, fields, whose):
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="Équipe")
    group.permissions.add(Permission.objects.get(codename="change_user"))
    person = stella if whose == "own" else alice
    replace = {"GROUP": str(group.pk), "PERMISSION": str(Permission.objects.get(codename="delete_user").pk),
               "USER": str(person.pk)}
    fields = {name: replace.get(value, value) for name, value in fields.items()}
    if person.is_staff and "is_staff" not in fields:
        fields["is_staff"] = "on"
    before = rights_of(person)
    client.force_login(stella)
    response = change(client, person, **fields)
    assert response.status_code in (302, 200, 403)
    assert rights_of(person) == before
    assert not Event.objects.filter(stream=person.stream_key, kind="roles.changed").exists()


def test_staff_with_change_user_still_fixes_an_address_but_sees_rights_read_only(client, stella, alice):
    client.force_login(stella)
    page = client.get(f"{URL}{alice.pk}/change/").content.decode()
    assert 'name="email"' in page
    assert 'name="role"' not in page and 'name="is_superuser"' not in page and 'name="groups"' not in page
    response = change(client, alice, email="alice.new@example.org", role="administrator")
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.email == "alice.new@example.org" and alice.role == "participant"


def test_staff_with_change_user_cannot_add_an_administrator(client, stella):
    from live.accounts.models import User

    client.force_login(stella)
    client.post(f"{URL}add/", {"username": "eve@example.org", "nickname": "eve", "email": "eve@example.org",
                               "role": "administrator", "password1": "Un-long-mot-de-passe-42",
                               "password2": "Un-long-mot-de-passe-42", "usable_password": "true"})
    assert not User.objects.filter(role="administrator", nickname="eve").exists()


def test_staff_with_change_user_cannot_take_over_an_administrators_account(client, stella, admin_user):
    client.force_login(stella)
    response = change(client, admin_user, email="stella.bis@example.org", is_staff="on", is_superuser="on",
                      role="administrator")
    assert response.status_code == 403
    admin_user.refresh_from_db()
    assert admin_user.email == "adminette@example.org"
    response = client.post(f"{URL}{admin_user.pk}/password/", {"password1": "Un-long-mot-de-passe-42",
                                                               "password2": "Un-long-mot-de-passe-42"})
    assert response.status_code == 403


@pytest.mark.parametrize("rights", ["moderator", "facilitator", "scoped moderator", "staff"])
def test_staff_with_change_user_cannot_take_over_an_account_holding_rights(client, stella, alice, rights):
    from live.accounts.models import User

    if rights == "scoped moderator":
        RoleAssignment.objects.create(user=alice, role="moderator", space="debate.42")
    elif rights == "staff":
        User.objects.filter(pk=alice.pk).update(is_staff=True)
    else:
        User.objects.filter(pk=alice.pk).update(role=rights)
    alice.refresh_from_db()
    client.force_login(stella)
    response = change(client, alice, email="stella.bis@example.org")
    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.email == "alice@example.org"
    response = client.post(f"{URL}{alice.pk}/password/", {"password1": "Un-long-mot-de-passe-42",
                                                          "password2": "Un-long-mot-de-passe-42"})
    assert response.status_code == 403


def test_staff_with_change_user_still_fixes_a_participants_address(client, stella, alice):
    client.force_login(stella)
    response = change(client, alice, email="alice.bis@example.org")
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.email == "alice.bis@example.org"


def test_an_administrator_grants_and_takes_back_rights_in_the_admin_through_the_services(client, admin_user, alice):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Équipe")
    client.force_login(admin_user)
    response = change(client, alice, is_staff="on", is_superuser="on", groups=str(group.pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.is_staff and alice.is_superuser and list(alice.groups.all()) == [group]
    [grant] = Event.objects.filter(stream=alice.stream_key, kind="roles.changed")
    assert grant.data["_control"] == {"reauthorize": True}

    response = change(client, alice, is_staff="on")
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert not alice.is_superuser and not alice.groups.exists()
    revocation = Event.objects.filter(stream=alice.stream_key, kind="roles.changed").latest("seq")
    assert revocation.data["_control"]["close"] == 4012


def test_a_scoped_role_removed_in_the_admin_goes_through_revoke_role(client, admin_user, alice):
    assignment = RoleAssignment.objects.create(user=alice, role="moderator", space="debate.42")
    client.force_login(admin_user)
    response = change(client, alice, **{
        "role_assignments-TOTAL_FORMS": "1", "role_assignments-INITIAL_FORMS": "1",
        "role_assignments-0-id": str(assignment.pk), "role_assignments-0-user": str(alice.pk),
        "role_assignments-0-role": "moderator", "role_assignments-0-space": "debate.42",
        "role_assignments-0-DELETE": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not RoleAssignment.objects.filter(user=alice).exists()
    [event] = Event.objects.filter(stream=alice.stream_key, kind="roles.changed")
    assert event.data["_control"]["close"] == 4012


def test_a_moderator_deactivated_or_unassigned_in_the_admin_is_told_on_the_moderation_streams(client, admin_user,
                                                                                               mona, alice):
    RoleAssignment.objects.create(user=alice, role="moderator", space="debate.42")
    client.force_login(admin_user)
    assert change(client, mona, is_active="").status_code == 302
    [event] = Event.objects.filter(stream="moderation.global", kind="moderators.changed")
    assert event.data["_control"] == {"reauthorize": True}
    assignment = alice.role_assignments.get()
    response = change(client, alice, **{
        "role_assignments-TOTAL_FORMS": "1", "role_assignments-INITIAL_FORMS": "1",
        "role_assignments-0-id": str(assignment.pk), "role_assignments-0-user": str(alice.pk),
        "role_assignments-0-role": "moderator", "role_assignments-0-space": "debate.42",
        "role_assignments-0-DELETE": "on"})
    assert response.status_code == 302
    assert Event.objects.filter(stream="moderation.debate.42", kind="moderators.changed").exists()


def test_an_administrator_adds_a_moderator_through_set_role(client, admin_user):
    from live.accounts.models import User

    client.force_login(admin_user)
    response = client.post(f"{URL}add/", {"username": "eve@example.org", "nickname": "eve", "email": "eve@example.org",
                                          "role": "administrator", "password1": "Un-long-mot-de-passe-42",
                                          "password2": "Un-long-mot-de-passe-42", "usable_password": "true",
                                          "role_assignments-TOTAL_FORMS": "0", "role_assignments-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.content.decode()[:3000]
    eve = User.objects.get(nickname="eve")
    assert eve.role == "administrator" and eve.is_staff  # set_role lets a new administrator into the admin
    assert Event.objects.filter(stream=eve.stream_key, kind="roles.changed").exists()


# --- deactivating and reactivating: through live.accounts.services, logged, never one's own account -----------------

def messages_of(response) -> list[tuple[str, str]]:
    from django.contrib.messages import get_messages

    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def test_deactivating_in_the_admin_goes_through_the_service(client, admin_user, alice):
    from live.moderation.models import ActionLog

    signed_in = Client()
    signed_in.force_login(alice)
    client.force_login(admin_user)
    response = change(client, alice, is_active="")
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert not alice.is_active
    [entry] = ActionLog.objects.filter(target_user=alice)
    assert (entry.actor, entry.action) == (admin_user, "deactivate")
    [event] = Event.objects.filter(stream=alice.stream_key, kind="account.blocked")
    assert event.data["_control"]["reason"] == "deactivated"
    assert signed_in.get("/accounts/profile/").status_code == 302  # signed out

    response = change(client, alice, is_active="on")
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_active
    assert list(ActionLog.objects.filter(target_user=alice).values_list("action", flat=True)) == [
        "reactivate", "deactivate"]


def test_an_administrator_cannot_deactivate_themselves_in_the_admin(client, admin_user):
    from live.moderation.models import ActionLog

    client.force_login(admin_user)
    response = change(client, admin_user, is_active="", is_staff="on", is_superuser="on", role="administrator")
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert not ActionLog.objects.exists()
    assert [level for level, _text in messages_of(response)].count("error") == 1
    assert client.get(URL).status_code == 200  # still signed in


def test_the_list_deactivates_and_reactivates_the_selected_accounts_reporting_each_refusal(client, stella, alice,
                                                                                            bob, admin_user):
    from live.moderation.models import ActionLog

    client.force_login(stella)
    response = client.post(URL, {"action": "deactivate_selected", "_selected_action": [alice.pk, bob.pk,
                                                                                        admin_user.pk, stella.pk]})
    assert response.status_code == 302
    for person in (alice, bob, admin_user, stella):
        person.refresh_from_db()
    assert (alice.is_active, bob.is_active, admin_user.is_active, stella.is_active) == (False, False, True, True)
    assert set(ActionLog.objects.values_list("target_user__nickname", "action")) == {
        ("alice", "deactivate"), ("bob", "deactivate")}
    refusals = [text for level, text in messages_of(response) if level == "error"]
    assert len(refusals) == 2
    assert any("adminette" in text for text in refusals) and any("stella" in text for text in refusals)
    client.get(URL)  # the page that shows them

    response = client.post(URL, {"action": "reactivate_selected", "_selected_action": [alice.pk, bob.pk]})
    alice.refresh_from_db()
    assert alice.is_active
    assert ActionLog.objects.filter(action="reactivate").count() == 2
    assert not [level for level, _text in messages_of(response) if level == "error"]


def test_the_accounts_history_does_not_say_a_refused_change_was_made(client, admin_user, alice):
    """The admin's history of an account (its log entries) lists what a save changed: a change a service refused,
    or a block reason left as moderation sent it, is not listed; what was done still is."""
    from django.contrib.admin.models import LogEntry

    def last_change(person):
        """The fields the last entry says were changed (their labels, as Django stores them)."""
        entry = LogEntry.objects.filter(object_id=str(person.pk)).latest("pk")
        return [field for change in json.loads(entry.change_message) for field in change["changed"]["fields"]]

    client.force_login(admin_user)
    change(client, admin_user, is_active="", nickname="adminette2", is_staff="on", is_superuser="on",
           role="administrator")  # deactivating oneself: refused
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.nickname == "adminette2"
    assert "Active" not in last_change(admin_user) and "Nickname" in last_change(admin_user)

    from live.accounts.models import User
    from live.moderation import services as moderation

    moderation.block(actor=admin_user, user=alice, reason="spam")
    User.objects.filter(pk=alice.pk).update(blocked_at=timezone.now().replace(microsecond=0))
    alice.refresh_from_db()
    when = timezone.localtime(alice.blocked_at)
    change(client, alice, blocked_at_0=when.strftime("%Y-%m-%d"), blocked_at_1=when.strftime("%H:%M:%S"),
           blocked_reason="another reason", bio="Nouvelle bio")
    alice.refresh_from_db()
    assert alice.blocked_reason == "spam" and alice.bio == "Nouvelle bio"
    assert "Blocked reason" not in last_change(alice) and "About me" in last_change(alice)
