"""Django admin's log (LogEntry, kept for ever: "Recent actions", each object's history) names an object by its
`__str__`: a comment's first 60 characters, a debate's title. Those words outlived the comment's removal, its
deletion's retention and its author's erasure. The log names such objects by kind and number instead.

- adminette: the administrator;
- alice: writes the comments."""

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.test import Client

from debates import services as debates
from debates.models import Comment
from live.accounts.services import erase_account
from privacy import services
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db


def admin_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def comment(alice, fiona):
    debate = debates.create_debate(author=fiona, title="ALICE-title? La place", description="Le dimanche ?")
    return debates.post_comment(author=alice, debate=debate, body="ALICE-secret mon voisin au 12 rue des Lilas")


def test_removing_a_comment_in_the_admin_logs_its_number_not_its_words(comment, admin_user):
    response = admin_client(admin_user).post(f"/admin/debates/comment/{comment.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302 and not Comment.objects.filter(pk=comment.pk).exists()
    entry = LogEntry.objects.get(action_flag=DELETION)
    assert entry.object_repr == f"comment #{comment.pk}"
    assert not LogEntry.objects.filter(object_repr__contains="ALICE").exists()


def test_saving_a_comment_or_a_debate_in_the_admin_logs_their_numbers_not_their_words(comment, admin_user):
    client = admin_client(admin_user)

    assert client.post(f"/admin/debates/comment/{comment.pk}/change/", {"_save": "Save"}).status_code == 302
    assert client.post(f"/admin/debates/debate/{comment.debate_id}/change/", {"_save": "Save"}).status_code == 302

    assert sorted(LogEntry.objects.filter(action_flag=CHANGE).values_list("object_repr", flat=True)) == [
        f"comment #{comment.pk}", f"debate #{comment.debate_id}"]


def test_an_entry_logged_with_the_words_before_loses_them_at_the_next_retention_run(comment, admin_user, alice):
    """Entries made before the admin logged numbers still quote the comment: the daily run rewrites them (also
    those of comments removed since, which no erasure nor retention of comments finds any more)."""
    LogEntry.objects.log_actions(user_id=admin_user.pk, queryset=[comment, comment.debate], action_flag=CHANGE)
    LogEntry.objects.log_actions(user_id=admin_user.pk, queryset=[comment], action_flag=DELETION)
    Comment.objects.filter(pk=comment.pk).delete()
    erase_account(user=alice, password=PASSWORD)

    done = services.apply_retention()

    assert not LogEntry.objects.filter(object_repr__contains="ALICE").exists()
    assert set(LogEntry.objects.values_list("object_repr", flat=True)) >= {
        f"comment #{comment.pk}", f"debate #{comment.debate_id}"}
    assert done["admin_log"] == 3
    assert services.apply_retention()["admin_log"] == 0


def test_an_erased_persons_roles_in_the_admins_history_no_longer_name_her(alice, admin_user):
    """Her account's history quotes the role inlines by their `__str__` ("alice moderator @ debate.3"): her
    erasure rewrites those quotes with the rest of the entry."""
    LogEntry.objects.log_actions(user_id=admin_user.pk, queryset=[alice], action_flag=CHANGE, change_message=[
        {"added": {"name": "role assignment", "object": f"{alice} moderator @ debate.3"}}])

    erase_account(user=alice, password=PASSWORD)

    entry = LogEntry.objects.get(object_id=str(alice.pk), content_type__model="user")
    assert "alice" not in (entry.object_repr + entry.change_message).lower()
    assert "moderator @ debate.3" in entry.change_message
