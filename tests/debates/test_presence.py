"""Presence: how many people are reading a debate, the same count for every server process."""

import time

import pytest

from debates import presence

pytestmark = pytest.mark.django_db


@pytest.mark.needs_redis
def test_readers_are_counted_once_per_person_and_shared_through_redis(alice, bob):
    assert presence._redis() is not None  # the production path, not the single-process fallback
    assert presence.touch(1, presence.member_for(alice, None)) == 1
    assert presence.touch(1, presence.member_for(alice, None)) == 1  # a second tab of alice's
    assert presence.touch(1, presence.member_for(bob, None)) == 2
    assert presence.count(1) == 2 and presence.count(2) == 0
    assert presence.touch(1, presence.member_for(bob, None), leaving=True) == 1


def test_anonymous_readers_count_per_tab_with_a_valid_tab_id():
    from django.contrib.auth.models import AnonymousUser

    assert presence.member_for(AnonymousUser(), "abcdef0123456789") == "aabcdef0123456789"
    assert presence.member_for(AnonymousUser(), "<script>") is None
    assert presence.member_for(AnonymousUser(), "") is None


def test_readers_who_stop_beating_drop_out(alice, bob, settings, monkeypatch):
    settings.DEBATES_PRESENCE_TTL = 30
    now = time.time()
    monkeypatch.setattr(presence.time, "time", lambda: now - 60)
    presence.touch(7, "u1")
    monkeypatch.setattr(presence.time, "time", lambda: now)
    assert presence.touch(7, "u2") == 1
    assert presence.count(7) == 1


def test_the_single_process_fallback_counts_the_same(monkeypatch):
    monkeypatch.setattr(presence, "_redis", lambda: None)
    presence._local.clear()
    assert presence.touch(3, "u1") == 1
    assert presence.touch(3, "u2") == 2
    assert presence.touch(3, "u1", leaving=True) == 1
    assert presence.count(3) == 1


def test_an_unchanged_count_is_not_broadcast_again():
    assert presence.changed(9, 2) is True
    assert presence.changed(9, 2) is False
    assert presence.changed(9, 3) is True
