"""The Django admin: administrators only; role and block changes made there reach the person's sockets."""

import pytest
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
