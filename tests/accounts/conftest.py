import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # These tests create and check many passwords; the real hasher's cost is not what they test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def stella(db):
    """stella: staff who fixes e-mail addresses (Django's change_user permission), not an administrator."""
    from django.contrib.auth.models import Permission

    from tests.helpers import make_user

    user = make_user("stella", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user", "add_user"]))
    return user
