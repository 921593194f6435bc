"""Deactivating and reactivating an account (services.deactivate / reactivate): by someone who may change that
account, never one's own; the person's sessions and sockets end at once; the moderators' log keeps who, when, why."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from live.accounts import selectors, services
from live.accounts.models import RoleAssignment, User
from live.models import Event
from live.moderation.models import ActionLog
from tests.helpers import make_user

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def log_of(user) -> list[tuple]:
    return list(ActionLog.objects.filter(target_user=user).order_by("pk").values_list("actor__nickname", "action",
                                                                                          "reason"))


def test_an_administrator_deactivates_an_account_and_it_is_logged(admin_user, alice):
    signed_in(alice), signed_in(alice)
    assert len(selectors.session_keys_of(alice)) == 2

    entry = services.deactivate(actor=admin_user, user=alice, reason="Compte partagé par plusieurs personnes")

    alice.refresh_from_db()
    assert not alice.is_active
    assert selectors.session_keys_of(alice) == []
    [closed] = Event.objects.filter(stream=alice.stream_key, kind="account.blocked")
    assert closed.data["_control"]["close"] == 4403 and closed.data["_control"]["reason"] == "deactivated"
    assert Event.objects.filter(stream=alice.stream_key, kind="roles.changed").exists()
    assert log_of(alice) == [("adminette", "deactivate", "Compte partagé par plusieurs personnes")]
    assert entry.kind == "user" and entry.object_id == alice.pk


def test_the_deactivated_account_cannot_sign_in(admin_user, alice):
    from tests.helpers import PASSWORD

    services.deactivate(actor=admin_user, user=alice)

    assert not Client().login(username="alice@example.org", password=PASSWORD)


def test_deactivating_twice_changes_and_logs_nothing_more(admin_user, alice):
    services.deactivate(actor=admin_user, user=alice)
    events = Event.objects.filter(stream=alice.stream_key).count()

    assert services.deactivate(actor=admin_user, user=User.objects.get(pk=alice.pk)) is None

    assert Event.objects.filter(stream=alice.stream_key).count() == events
    assert [action for _actor, action, _reason in log_of(alice)] == ["deactivate"]


def test_a_stale_copy_of_the_account_is_not_deactivated_twice(admin_user, alice):
    """Two administrators open the same account; the second one's copy still says active."""
    stale = User.objects.get(pk=alice.pk)
    services.deactivate(actor=admin_user, user=alice)

    assert services.deactivate(actor=admin_user, user=stale) is None
    assert len(log_of(alice)) == 1


def test_an_administrator_reactivates_an_account_once(admin_user, alice):
    services.deactivate(actor=admin_user, user=alice)

    services.reactivate(actor=admin_user, user=alice, reason="Erreur de manipulation")
    assert services.reactivate(actor=admin_user, user=alice) is None

    alice.refresh_from_db()
    assert alice.is_active
    assert log_of(alice) == [("adminette", "deactivate", ""), ("adminette", "reactivate", "Erreur de manipulation")]


def test_a_deleted_account_is_not_reactivated(admin_user, alice):
    services.erase_account(user=alice, password="correct-horse-battery-9")

    with pytest.raises(ValidationError):
        services.reactivate(actor=admin_user, user=alice)

    alice.refresh_from_db()
    assert not alice.is_active and not log_of(alice)


def test_staff_with_change_user_deactivates_a_participant(stella, alice):
    services.deactivate(actor=stella, user=alice)

    alice.refresh_from_db()
    assert not alice.is_active
    assert log_of(alice) == [("stella", "deactivate", "")]


# --- refusals: nothing written --------------------------------------------------------------------------------------

def assert_untouched(user, sessions: int):
    user.refresh_from_db()
    assert user.is_active
    assert len(selectors.session_keys_of(user)) == sessions
    assert not Event.objects.filter(stream=user.stream_key).exists()
    assert not ActionLog.objects.filter(target_user=user).exists()


def test_an_administrator_cannot_deactivate_their_own_account(admin_user):
    signed_in(admin_user)

    with pytest.raises(ValidationError) as refused:
        services.deactivate(actor=admin_user, user=admin_user)

    assert "own account" in " ".join(refused.value.messages) or "propre compte" in " ".join(refused.value.messages)
    assert_untouched(admin_user, sessions=1)


@pytest.mark.parametrize("rights", ["administrator", "moderator", "facilitator", "scoped moderator", "staff"])
def test_staff_with_change_user_cannot_deactivate_an_account_holding_rights(stella, rights):
    person = make_user("person", role="participant" if rights in ("scoped moderator", "staff") else rights,
                       is_staff=rights in ("administrator", "staff"))
    if rights == "scoped moderator":
        RoleAssignment.objects.create(user=person, role="moderator", space="debate.42")
    signed_in(person)

    with pytest.raises(PermissionDenied):
        services.deactivate(actor=stella, user=person)

    assert_untouched(person, sessions=1)


@pytest.mark.parametrize("actor", ["participant", "facilitator", "moderator", "staff without change_user",
                                   "inactive staff", "anonymous"])
def test_an_actor_without_the_right_cannot_deactivate_or_reactivate(alice, actor):
    from django.contrib.auth.models import AnonymousUser

    if actor == "anonymous":
        someone = AnonymousUser()
    else:
        someone = make_user("someone", role=actor if actor in ("facilitator", "moderator") else "participant",
                            is_staff="staff" in actor, is_active=actor != "inactive staff")
        if actor == "inactive staff":
            someone.user_permissions.add(Permission.objects.get(codename="change_user"))
    signed_in(alice)

    with pytest.raises(PermissionDenied):
        services.deactivate(actor=someone, user=alice)
    assert_untouched(alice, sessions=1)

    User.objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(PermissionDenied):
        services.reactivate(actor=someone, user=alice)
    alice.refresh_from_db()
    assert not alice.is_active and not ActionLog.objects.exists()


def test_a_reason_with_control_characters_is_refused_before_anything_is_written(admin_user, alice):
    with pytest.raises(ValidationError):
        services.deactivate(actor=admin_user, user=alice, reason="Spam\x00")

    assert_untouched(alice, sessions=0)
    assert Session.objects.count() == 0


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_administrators_deactivating_at_once_log_it_once(db):
    from tests.helpers import while_held

    first, second = (make_user(name, role="administrator", is_staff=True) for name in ("adminette", "adam"))
    alice = make_user("alice")

    done, again = while_held(lambda: services.deactivate(actor=first, user=User.objects.get(pk=alice.pk)),
                             lambda: services.deactivate(actor=second, user=User.objects.get(pk=alice.pk)))

    assert done is not None and again is None
    assert [action for _actor, action, _reason in log_of(alice)] == ["deactivate"]
