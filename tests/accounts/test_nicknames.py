"""A nickname is one name whatever its case, is not a name the site shows for someone else, and does not mix
look-alike alphabets: nobody can pass for another person, an erased account or a blocked one."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from live.accounts import services
from tests.accounts.test_admin import change
from tests.accounts.test_signup import sign_up

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_two_accounts_cannot_hold_one_name_in_two_cases(alice, bob):
    bob.nickname = "ALICE"
    with pytest.raises(IntegrityError), transaction.atomic():
        bob.save(update_fields=["nickname"])


def test_the_admin_refuses_a_nickname_taken_in_another_case(client, admin_user, alice, bob):
    client.force_login(admin_user)
    response = change(client, bob, nickname="ALICE")
    assert response.status_code == 200  # the form again, with the error
    assert "Ce pseudonyme est déjà pris." in response.content.decode()
    bob.refresh_from_db()
    assert bob.nickname == "bob"
    assert client.get("/accounts/people/alice/").status_code == 200


@pytest.mark.parametrize("name", ["Deleted participant", "Participant·e supprimé·e", "BLOCKED USER",
                                  "utilisateur bloqué", "deleted  PARTICIPANT"])
def test_a_name_the_site_shows_for_others_is_refused(client, name):
    response = sign_up(client, nickname=name)
    assert response.status_code == 400
    assert "This name is reserved: choose another." in response.content.decode()
    assert not User.objects.filter(email="dora@example.org").exists()


def test_a_name_mixing_look_alike_alphabets_is_refused(client, alice):
    response = sign_up(client, nickname="\u0430lice")  # a Cyrillic "а", then Latin letters
    assert response.status_code == 400
    assert "mixes letters of different alphabets" in response.content.decode()
    assert sign_up(client, nickname="Дмитрий").status_code == 302  # one alphabet, any alphabet
    assert User.objects.filter(nickname="Дмитрий").exists()


def test_renaming_into_a_reserved_or_mixed_name_is_refused(alice):
    for name in ("Deleted participant", "b\u043eb"):  # a Cyrillic "о"
        with pytest.raises(Exception) as refused:
            services.update_profile(user=alice, nickname=name, bio="")
        assert "nickname" in refused.value.message_dict
    alice.refresh_from_db()
    assert alice.nickname == "alice"


def test_an_account_whose_name_predates_a_rule_still_edits_its_profile(db):
    """The demo's administrator is "admin"; rules on names apply to the name chosen, not to the bio saved."""
    from tests.helpers import make_user

    admin = make_user("admin", role="administrator")
    services.update_profile(user=admin, nickname="admin", bio="Administre la plateforme.")
    admin.refresh_from_db()
    assert admin.bio == "Administre la plateforme."


def test_a_legacy_mixed_alphabets_name_is_kept_by_a_profile_save_but_not_chosen_anew(alice, bob):
    legacy = "\u0430lice"  # a Cyrillic "а", from before the rule
    User.objects.filter(pk=alice.pk).update(nickname=legacy)
    alice.refresh_from_db()
    services.update_profile(user=alice, nickname=legacy, bio="Jardinière")
    alice.refresh_from_db()
    assert (alice.nickname, alice.bio) == (legacy, "Jardinière")
    with pytest.raises(Exception) as refused:
        services.update_profile(user=bob, nickname=legacy + "2", bio="")
    assert "nickname" in refused.value.message_dict
