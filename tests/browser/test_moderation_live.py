"""Moderation as people see it, in Chromium against a real daphne: decisions reach every open page at once."""

import time

import pytest
from playwright.sync_api import expect

from debates import services as debates
from live.accounts.models import RoleAssignment
from live.moderation import services
from live.moderation.models import Case
from tests import helpers
from tests.browser.conftest import force_reset, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def comment(fiona, alice):
    """alice's comment in fiona's debate."""
    debate = debates.create_debate(author=fiona, title="Faut-il piétonniser la place du marché ?",
                                   description="La mairie propose de fermer la place aux voitures le samedi.")
    return debates.post_comment(author=alice, debate=debate, body="Les commerçants vont tous fermer, bande d'idiots")


def debate_path(comment):
    return f"/debates/{comment.debate_id}/"


def test_a_moderator_hides_a_comment_from_the_queue_and_the_reader_sees_it_hidden_live(open_page, comment, bob,
                                                                                        carol, mona):
    reader = open_page(bob, debate_path(comment))
    wait_live(reader)
    body = reader.locator(f"#comment-{comment.pk}-body")
    expect(body).to_contain_text("Les commerçants vont tous fermer")

    queue = open_page(mona, "/moderation/")
    wait_live(queue)
    expect(queue.locator(".queue-row")).to_have_count(0)
    services.report(reporter=carol, kind="comment", object_id=comment.pk, reason="offensive", details="insulte")
    case = Case.objects.get(kind="comment", object_id=comment.pk)
    row = queue.locator(f"#case-{case.pk}")
    expect(row).to_contain_text("Les commerçants vont tous fermer")  # slid in without a reload
    expect(row).to_contain_text("insulte")
    expect(queue.locator("#queue-count-global")).to_have_text("1")

    row.get_by_label("Reason shown to the author").or_(row.locator(f"#case-{case.pk}-reason")).first.fill(
        "Insulte envers les autres participants")
    row.locator("form.queue-hide button").click()

    expect(reader.locator(f"#comment-{comment.pk}-main .comment-placeholder")).to_be_visible()
    expect(reader.locator(f"#comment-{comment.pk}-main")).not_to_contain_text("Les commerçants")
    expect(row).to_have_count(0)  # the decision took the row out of the queue
    expect(queue.locator("#queue-count-global")).to_have_text("0")
    expect(queue.locator(f"#hidden-{case.pk}")).to_contain_text("Insulte envers les autres participants")


def test_three_reports_hide_a_comment_live(open_page, comment, bob, carol):
    dave, erin = helpers.make_user("dave"), helpers.make_user("erin")
    reader = open_page(erin, debate_path(comment))
    wait_live(reader)
    services.report(reporter=carol, kind="comment", object_id=comment.pk, reason="offensive")
    services.report(reporter=dave, kind="comment", object_id=comment.pk, reason="spam")
    expect(reader.locator(f"#comment-{comment.pk}-body")).to_be_visible()  # two reports: still shown

    reporter = open_page(bob, debate_path(comment))
    wait_live(reporter)
    reporter.locator(f"#comment-{comment.pk}-main .report-link").click()  # the form opens in a panel under it
    panel = reporter.locator(f"#comment-{comment.pk}-panel")
    panel.locator(".report-form input[value='offensive']").check()
    panel.locator(".report-form textarea").fill("Injurieux")
    panel.locator(".report-form button[type=submit]").click()

    expect(reader.locator(f"#comment-{comment.pk}-main .comment-placeholder")).to_be_visible()
    expect(reader.locator(f"#comment-{comment.pk}-main")).not_to_contain_text("Les commerçants")
    expect(reporter.locator(f"#comment-{comment.pk}-main .comment-placeholder")).to_be_visible()
    assert Case.objects.get(kind="comment", object_id=comment.pk).auto_hidden


def test_two_moderators_one_dismisses_and_the_row_leaves_the_others_queue(open_page, comment, carol, mona):
    sam = helpers.make_user("sam")
    RoleAssignment.objects.create(user=sam, role="moderator", space=f"debate.{comment.debate_id}")
    global_queue = open_page(mona, "/moderation/")
    space_queue = open_page(sam, "/moderation/")
    wait_live(global_queue)
    wait_live(space_queue)
    services.report(reporter=carol, kind="comment", object_id=comment.pk, reason="does_not_belong")
    case = Case.objects.get(kind="comment", object_id=comment.pk)
    expect(global_queue.locator(f"#case-{case.pk}")).to_be_visible()
    expect(space_queue.locator(f"#case-{case.pk}")).to_be_visible()

    space_queue.locator(f"#case-{case.pk} form", has=space_queue.locator("input[value='dismiss']")).locator(
        "button").click()
    expect(global_queue.locator(f"#case-{case.pk}")).to_have_count(0)
    expect(space_queue.locator(f"#case-{case.pk}")).to_have_count(0)
    assert Case.objects.get(pk=case.pk).status == Case.Status.RESOLVED


def test_blocking_closes_the_participants_pages_within_two_seconds(open_page, comment, alice, bob, mona):
    from live.messaging import services as messaging

    message = messaging.start_conversation(author=alice, recipients=[bob], body="Tu as vu le débat ?")
    debate_page = open_page(alice, debate_path(comment), locale="en-US")
    conversation_page = debate_page.context.new_page()  # same person, same session, a second tab
    conversation_page.goto(debate_page.url.split("/debates/")[0] + f"/messages/{message.conversation_id}/")
    wait_live(debate_page)
    wait_live(conversation_page)

    moderator = open_page(mona, f"/moderation/people/{alice.pk}/")
    moderator.locator("#block-reason").fill("Insultes répétées malgré les avertissements")
    started = time.monotonic()
    moderator.locator("#block-form button").click()
    for page in (debate_page, conversation_page):
        expect(page.locator("html")).to_have_attribute("data-live", "ended", timeout=2000)
    assert time.monotonic() - started < 2.5  # the click's round trip included

    debate_page.reload()
    assert "/accounts/login/" in debate_page.url
    expect(debate_page.locator("#flash")).to_contain_text("blocked by moderation")
    conversation_page.reload()
    assert "/accounts/login/" in conversation_page.url


def test_locking_a_debate_from_moderation_changes_the_readers_form_live(open_page, comment, bob, mona):
    reader = open_page(bob, debate_path(comment))
    wait_live(reader)
    expect(reader.locator("#comment-form")).to_be_visible()

    moderator = open_page(mona, f"/moderation/spaces/debate.{comment.debate_id}/")
    moderator.locator("#lock-reason").fill("Le ton monte : pause d'une heure")
    moderator.get_by_role("button", name="Lock comments").or_(
        moderator.locator("button[value=lock]")).first.click()

    expect(reader.locator("#comment-form-region .notice-locked")).to_be_visible()
    expect(reader.locator("#comment-form")).to_have_count(0)


def test_a_moderator_working_the_queue_with_the_keyboard_keeps_the_focus(open_page, comment, alice, bob, carol,
                                                                       mona):
    """A report arriving while she types a reason leaves her in the field with what she typed (the queue's order
    was put back by moving every row, which took the focus away); a case she dismisses leaves the queue and the
    focus goes to the next case, not to the page's start."""
    from tests.browser.test_a11y_paths import tab_to

    second = debates.post_comment(author=alice, debate=comment.debate, body="Et vous êtes tous des nuls")
    third = debates.post_comment(author=alice, debate=comment.debate, body="Je le redis : des nuls")
    services.report(reporter=carol, kind="comment", object_id=comment.pk, reason="offensive")
    services.report(reporter=carol, kind="comment", object_id=second.pk, reason="offensive")
    first_case, second_case = (Case.objects.get(kind="comment", object_id=c.pk) for c in (comment, second))
    queue = open_page(mona, "/moderation/", locale="en-GB")
    wait_live(queue)
    tab_to(queue, f"#case-{second_case.pk}-reason")
    queue.keyboard.type("Insulte")
    services.report(reporter=bob, kind="comment", object_id=third.pk, reason="offensive")
    expect(queue.locator(".queue-row")).to_have_count(3)
    expect(queue.locator(f"#case-{second_case.pk}-reason")).to_be_focused()
    expect(queue.locator(f"#case-{second_case.pk}-reason")).to_have_value("Insulte")

    dismiss = queue.locator(f"#case-{second_case.pk} form", has=queue.locator("input[value='dismiss']")).locator(
        "button")
    tab_to(queue, f"#case-{second_case.pk} form:has(input[value='dismiss']) button")
    expect(dismiss).to_be_focused()
    queue.keyboard.press("Enter")
    expect(queue.locator(f"#case-{second_case.pk}")).to_have_count(0)
    expect(queue.locator(f"#case-{first_case.pk}")).to_be_focused()


def test_a_report_arriving_elsewhere_keeps_the_moderator_typing_a_reason(open_page, comment, bob, carol, mona):
    other = debates.post_comment(author=bob, debate=comment.debate, body="Un second commentaire, douteux lui aussi")
    services.report(reporter=carol, kind="comment", object_id=comment.pk, reason="offensive")
    case = Case.objects.get(kind="comment", object_id=comment.pk)
    queue = open_page(mona, "/moderation/")
    wait_live(queue)
    reason = queue.locator(f"#case-{case.pk}-reason")
    reason.click()
    queue.keyboard.type("Insulte")

    # Another item is reported meanwhile: its row slides in (and the queue sorts itself)...
    helpers.off_loop(lambda: services.report(reporter=carol, kind="comment", object_id=other.pk, reason="spam"))
    expect(queue.locator(".queue-row")).to_have_count(2)
    expect(queue.locator("#queue-count-global")).to_have_text("2")
    # ...and the moderator's keystrokes still land in the field they were typing in.
    expect(reason).to_be_focused()
    queue.keyboard.type(" grave")
    expect(reason).to_have_value("Insulte grave")


def test_another_report_on_the_same_item_keeps_the_reason_being_typed(open_page, comment, bob, carol, mona):
    services.report(reporter=carol, kind="comment", object_id=comment.pk, reason="offensive")
    case = Case.objects.get(kind="comment", object_id=comment.pk)
    queue = open_page(mona, "/moderation/")
    wait_live(queue)
    reason = queue.locator(f"#case-{case.pk}-reason")
    reason.click()
    queue.keyboard.type("Insulte")

    # bob reports it too: the case's row is pushed anew (two reports now)...
    helpers.off_loop(lambda: services.report(reporter=bob, kind="comment", object_id=comment.pk, reason="spam"))
    expect(queue.locator(f"#case-{case.pk} [data-testid=report-count]")).to_contain_text("2")
    # ...with what the moderator was typing, where they were typing it.
    expect(reason).to_have_value("Insulte")
    expect(reason).to_be_focused()
    queue.keyboard.type(" grave")
    expect(reason).to_have_value("Insulte grave")


def test_after_a_reset_the_queue_filtered_by_kind_still_leaves_other_kinds_out(open_page, comment, carol, mona):
    """A reset reloads the queue (its region) from the page: the rows arriving afterwards are still sorted and
    filtered as the moderator asked (here: private messages only, so a reported comment stays out of sight)."""
    queue = open_page(mona, "/moderation/?kind=message")
    wait_live(queue)
    force_reset(queue, "moderation.global")
    helpers.off_loop(lambda: services.report(reporter=carol, kind="comment", object_id=comment.pk, reason="spam"))
    case = Case.objects.get(kind="comment", object_id=comment.pk)
    expect(queue.locator("#queue-count-global")).to_have_text("1")
    expect(queue.locator(f"#case-{case.pk}")).to_be_attached()
    expect(queue.locator(f"#case-{case.pk}")).to_be_hidden()
