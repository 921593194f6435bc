"""live/paths.py: reverse() done once, the same strings."""

import pytest
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from live import paths


@pytest.mark.parametrize("name,args", [("accounts:profile", ("alice",)), ("accounts:profile", ("é l'ami",)),
                                       ("messaging:conversation", (42,)), ("moderation:report", ()),
                                       ("home", ())])
def test_it_is_what_reverse_says(name, args):
    assert paths.reverse_once(name, *args) == reverse(name, args=args or None)
    assert paths.reverse_once(name, *args) == reverse(name, args=args or None)  # kept: the same again


def test_the_script_prefix_is_part_of_the_key():
    plain = paths.reverse_once("accounts:profile", "bob")
    set_script_prefix("/agora/")
    try:
        assert paths.reverse_once("accounts:profile", "bob") == "/agora" + plain
    finally:
        clear_script_prefix()
    assert paths.reverse_once("accounts:profile", "bob") == plain


def test_a_view_that_is_not_there_raises_or_answers_none():
    assert paths.reverse_or_none("nowhere:nothing") is None
    with pytest.raises(NoReverseMatch):
        paths.reverse_once("nowhere:nothing")


def test_paths_of_ids_are_built_around_them_whatever_the_id():
    for ids in [(1,), (42,), (987654321,), (987654320,), (10**12,)]:
        assert paths.reverse_once("messaging:conversation", *ids) == reverse("messaging:conversation", args=ids)
    for ids in [(1, 2), (42, 7), (3, 987654323), (987654322, 987654321)]:
        assert paths.reverse_once("messaging:report", *ids) == reverse("messaging:report", args=ids)
    before = paths._reversed.cache_info().currsize
    for pk in range(100, 200):
        assert paths.reverse_once("messaging:conversation", pk) == reverse("messaging:conversation", args=(pk,))
    assert paths._reversed.cache_info().currsize == before  # kept as parts, not per id
