"""live/settings.py's typed readers of the environment: a value they cannot read is an error, never a default."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from live.settings import env_bool, env_float, env_int


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("Yes", True), (" on ", True),
    ("0", False), ("false", False), ("NO", False), ("off", False),
])
def test_env_bool_reads_the_usual_words(monkeypatch, value, expected):
    monkeypatch.setenv("AGORA_TEST_FLAG", value)
    assert env_bool("AGORA_TEST_FLAG", default=not expected) is expected


def test_env_bool_is_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("AGORA_TEST_FLAG", raising=False)
    assert env_bool("AGORA_TEST_FLAG", default=True) is True
    assert env_bool("AGORA_TEST_FLAG") is False


@pytest.mark.parametrize("value", ["flase", "2", "", "enabled", "tru e"])
def test_env_bool_refuses_an_unknown_value_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("AGORA_TEST_FLAG", value)
    with pytest.raises(ImproperlyConfigured, match=r"AGORA_TEST_FLAG=.* is neither true"):
        env_bool("AGORA_TEST_FLAG", default=True)


def test_env_numbers_refuse_what_is_not_a_number(monkeypatch):
    monkeypatch.setenv("AGORA_TEST_NUMBER", "12s")
    with pytest.raises(ImproperlyConfigured, match="AGORA_TEST_NUMBER='12s' is not a number"):
        env_int("AGORA_TEST_NUMBER", 3)
    with pytest.raises(ImproperlyConfigured, match="AGORA_TEST_NUMBER"):
        env_float("AGORA_TEST_NUMBER", 3.0)
    monkeypatch.setenv("AGORA_TEST_NUMBER", "2.5")
    assert env_float("AGORA_TEST_NUMBER", 3.0) == 2.5
    monkeypatch.setenv("AGORA_TEST_NUMBER", "")
    assert env_int("AGORA_TEST_NUMBER", 3) == 3
