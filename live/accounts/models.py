
from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from live.text import TextValidator

nickname_validator = RegexValidator(r"^[^\s@<>&\"'/\\][^@<>&\"'/\\]{1,28}[^\s@<>&\"'/\\]$",
                                    _("3 to 30 characters, without @ < > & quotes or slashes, "
                                      "not starting or ending with a space."))


# What an erased account is called everywhere its comments, contributions and messages stay.
ERASED_NAME = _("Deleted participant")
# What a blocked account is called while it is blocked.
BLOCKED_NAME = _("blocked user")


@deconstructible
class NotReservedValidator:
    """A nickname that is not a name the site shows for someone else (an erased or a blocked account), in any
    language and case. (Staff titles are not reserved: the demo's administrator is called "admin", and roles show
    as badges, not names.)"""

    def __call__(self, value) -> None:
        from django.utils import translation

        folded = " ".join(str(value).casefold().split())
        reserved = set()
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                reserved |= {str(ERASED_NAME).casefold(), str(BLOCKED_NAME).casefold()}
        if folded in reserved:
            raise ValidationError(_("This name is reserved: choose another."), code="reserved")

    def __eq__(self, other):
        return isinstance(other, NotReservedValidator)


# A nickname's rules, for the model field and the forms alike (uniqueness ignoring case: User.Meta.constraints).
NICKNAME_VALIDATORS = [nickname_validator, NotReservedValidator(), TextValidator(name=True)]


def erased_name_stored() -> str:
    """The erased name as written into stored text (a mention in someone else's comment, a notification): in the
    site's language, whoever's request erases the account."""
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        return str(ERASED_NAME)


class Role(models.TextChoices):
    PARTICIPANT = "participant", _("Participant")
    FACILITATOR = "facilitator", _("Facilitator")
    MODERATOR = "moderator", _("Moderator")
    ADMINISTRATOR = "administrator", _("Administrator")


class AccountManager(UserManager):
    def named(self, *nicknames: str):
        """The accounts whose nickname is one of `nicknames`, ignoring case: the one nickname lookup. A name longer
        than a nickname can be matches nobody without asking the database (SQLite refuses a LIKE pattern over
        50,000 bytes: a 1 MB name typed in a form was a 500)."""
        limit = self.model._meta.get_field("nickname").max_length
        wanted = [name for name in nicknames if name and len(name) <= limit]
        if not wanted:
            return self.none()
        return self.filter(models.Q(*[models.Q(nickname__iexact=name) for name in wanted], _connector=models.Q.OR))

    def create_user(self, username=None, email=None, password=None, **extra):
        extra.setdefault("nickname", username)
        return super().create_user(username, email, password, **extra)

    def create_superuser(self, username=None, email=None, password=None, **extra):
        extra.setdefault("nickname", username)
        extra.setdefault("role", Role.ADMINISTRATOR)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A resident, facilitator, moderator or administrator. `username` is the login (the e-mail or nickname);
    `nickname` is the public name."""

    nickname = models.CharField(_("nickname"), max_length=30, unique=True,
                                validators=NICKNAME_VALIDATORS)
    email = models.EmailField(_("email address"), unique=True, null=True, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.PARTICIPANT)
    bio = models.TextField(_("about me"), max_length=500, blank=True, validators=[TextValidator(multiline=True)])
    blocked_at = models.DateTimeField(_("blocked at"), null=True, blank=True,
                                      help_text=_("Set by moderation: the account can no longer sign in or act."))
    blocked_reason = models.TextField(_("reason for blocking"), blank=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True,
                                     help_text=_("The person erased their account: only an anonymous row is left, so "
                                                 "that their comments keep their place and their votes their count."))

    objects = AccountManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # "Alice" and "alice" are one name (mentions, profiles and sign-in read nicknames ignoring case): two
        # accounts signing up or renaming at the same instant cannot both take it.
        constraints = [models.UniqueConstraint(Lower("nickname"), name="nickname_unique_ignoring_case",
                                               violation_error_message=_("This nickname is already taken."))]

    def __str__(self):
        return self.nickname or self.username

    def get_absolute_url(self):
        from live import paths

        return paths.reverse_once("accounts:profile", self.nickname)

    @property
    def stream_key(self) -> str:
        return f"user.{self.pk}"

    @property
    def is_blocked(self) -> bool:
        return self.blocked_at is not None

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def initials(self) -> str:
        if self.is_erased:
            return "?"
        parts = [p for p in (self.nickname or "?").replace("-", " ").replace("_", " ").split() if p]
        letters = "".join(p[0] for p in parts[:2]) if len(parts) > 1 else (self.nickname or "?")[:2]
        return letters.upper()

    @property
    def avatar_hue(self) -> int:
        return (self.pk or 0) * 47 % 360

    @property
    def public_name(self) -> str:
        if self.is_erased:
            return str(ERASED_NAME)
        return str(BLOCKED_NAME) if self.is_blocked else self.nickname

    def has_role(self, role: str, space: str | None = None) -> bool:
        """Global role, or the same role scoped to `space` (e.g. "debate.42", "meeting.7"). Administrators hold
        every role."""
        if not self.is_authenticated or not self.is_active or self.is_blocked:
            return False
        if self.role == Role.ADMINISTRATOR or self.is_superuser or self.role == role:
            return True
        if space is None:
            return False
        return self.role_assignments.filter(role=role, space=space).exists()


class RoleAssignment(models.Model):
    """A role held in one space only: moderator of one debate, facilitator of one meeting."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=20, choices=Role.choices)
    space = models.CharField(max_length=100, help_text=_('e.g. "debate.42" or "meeting.7"'))
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role", "space"], name="role_assignment_unique")]

    def __str__(self):
        return f"{self.user} {self.role} @ {self.space}"

