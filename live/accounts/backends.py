from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q


class EmailOrNicknameBackend(ModelBackend):
    """Sign in with the e-mail address or the nickname, case-insensitively."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        User = get_user_model()
        user = User.objects.filter(Q(email__iexact=username) | Q(nickname__iexact=username)
                                   | Q(username=username)).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle on existence
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user)
