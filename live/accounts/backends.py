from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q


def account_named(username: str):
    """The account a sign-in name designates (its e-mail or nickname in any case, or its username), or None."""
    return get_user_model().objects.filter(Q(email__iexact=username) | Q(nickname__iexact=username)
                                           | Q(username=username)).first()


class EmailOrNicknameBackend(ModelBackend):
    """Sign in with the e-mail address or the nickname, case-insensitively."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = account_named(username)
        if user is None:
            get_user_model()().set_password(password)  # same work as a real check: no timing oracle on existence
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user)
