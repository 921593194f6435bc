"""Roles: participant, facilitator, moderator, administrator; global or scoped to one space."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from live.accounts import services
from live.accounts.models import RoleAssignment
from live.models import Event
from tests.helpers import make_user

pytestmark = pytest.mark.django_db

ROLES = ["participant", "facilitator", "moderator", "administrator"]


@pytest.mark.parametrize("held", ROLES)
@pytest.mark.parametrize("asked", ["facilitator", "moderator", "administrator"])
def test_a_global_role_grants_itself_and_administrators_hold_every_role(held, asked):
    person = make_user("person", role=held)
    assert person.has_role(asked) == (held == asked or held == "administrator")
    assert person.has_role(asked, "debate.1") == (held == asked or held == "administrator")


def test_a_scoped_role_holds_in_its_space_only(alice):
    RoleAssignment.objects.create(user=alice, role="moderator", space="debate.42")
    assert alice.has_role("moderator", "debate.42")
    assert not alice.has_role("moderator", "debate.43")
    assert not alice.has_role("moderator")
    assert not alice.has_role("facilitator", "debate.42")


def test_a_blocked_or_inactive_account_holds_no_role(mona, admin_user):
    mona.blocked_at = timezone.now()
    assert not mona.has_role("moderator")
    admin_user.is_active = False
    assert not admin_user.has_role("administrator")


@pytest.mark.parametrize("actor_role", ["participant", "facilitator", "moderator"])
def test_only_administrators_change_roles(alice, actor_role):
    actor = make_user("actor", role=actor_role)
    with pytest.raises(PermissionDenied):
        services.set_role(actor=actor, user=alice, role="moderator")
    with pytest.raises(PermissionDenied):
        services.set_role(actor=actor, user=alice, role="moderator", space="debate.1")
    alice.refresh_from_db()
    assert alice.role == "participant"
    assert not alice.role_assignments.exists()
    assert not Event.objects.filter(stream=alice.stream_key, kind="roles.changed").exists()


def test_an_administrator_grants_and_revokes_a_global_role(admin_user, alice):
    services.set_role(actor=admin_user, user=alice, role="moderator")
    alice.refresh_from_db()
    assert alice.has_role("moderator")
    services.revoke_role(actor=admin_user, user=alice, role="moderator")
    alice.refresh_from_db()
    assert alice.role == "participant"
    assert Event.objects.filter(stream=alice.stream_key, kind="roles.changed").count() == 2


def test_an_administrator_grants_and_revokes_a_scoped_role(admin_user, alice):
    services.set_role(actor=admin_user, user=alice, role="facilitator", space="meeting.7")
    assert alice.has_role("facilitator", "meeting.7")
    services.revoke_role(actor=admin_user, user=alice, role="facilitator", space="meeting.7")
    assert not alice.has_role("facilitator", "meeting.7")


def test_a_new_administrator_can_enter_the_django_admin(admin_user, alice, client):
    services.set_role(actor=admin_user, user=alice, role="administrator")
    client.force_login(alice)
    assert client.get("/admin/").status_code == 200
    services.revoke_role(actor=admin_user, user=alice, role="administrator")
    alice.refresh_from_db()
    assert not alice.is_staff


def test_an_unknown_role_is_refused(admin_user, alice):
    with pytest.raises(ValidationError):
        services.set_role(actor=admin_user, user=alice, role="king")
