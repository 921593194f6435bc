"""Two writes starting conversations at the same moment, on PostgreSQL: a double submit, two people writing to each
other."""

import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from live.messaging import services
from live.messaging.models import Conversation, Message

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def waiting_or_done(pid: int, thread: threading.Thread, timeout=10) -> None:
    """Return once backend `pid` waits for a lock another transaction holds, or its thread has finished."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while thread.is_alive():
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", [pid])
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, f"backend {pid} neither waited nor finished"
            time.sleep(0.01)


def while_held(first, second):
    """Run `first` in a transaction held open until `second`, in another thread, waits for a lock or is done;
    then commit. Returns (first's result, second's result or exception)."""
    results, pids, started = {}, {}, threading.Event()

    def run_second():
        try:
            pids["second"] = connection.cursor().connection.info.backend_pid
            started.set()
            results["second"] = second()
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            results["second"] = exc
        finally:
            started.set()
            connection.close()

    def run_first():
        try:
            with transaction.atomic():
                results["first"] = first()
                thread = threading.Thread(target=run_second)
                thread.start()
                started.wait(10)
                waiting_or_done(pids["second"], thread)
            thread.join(20)
        finally:
            connection.close()

    outer = threading.Thread(target=run_first)
    outer.start()
    outer.join(30)
    return results["first"], results["second"]


def test_a_retry_of_a_new_group_arriving_while_the_first_is_written_gets_the_same_message(alice, bob, carol, settings):
    settings.RATE_LIMITS_ENABLED = False
    client_id = uuid.uuid4()

    def start():
        return services.start_conversation(author=alice, recipients=["bob", "carol"], body="Double clic",
                                           client_id=client_id)

    first, retry = while_held(start, start)
    assert isinstance(retry, Message), retry
    assert retry.pk == first.pk
    assert Conversation.objects.count() == 1 and Message.objects.count() == 1


def test_two_people_writing_to_each_other_at_the_same_moment_share_one_conversation(alice, bob, settings):
    settings.RATE_LIMITS_ENABLED = False
    first, second = while_held(
        lambda: services.start_conversation(author=alice, recipients=["bob"], body="Salut Bob", client_id=uuid.uuid4()),
        lambda: services.start_conversation(author=bob, recipients=["alice"], body="Salut Alice",
                                            client_id=uuid.uuid4()))
    assert isinstance(second, Message), second
    assert Conversation.objects.count() == 1
    assert second.conversation_id == first.conversation_id
