"""Who may do what with accounts: small predicates for the services, the admin and the templates."""

from live.accounts.models import Role


def can_change_roles(actor) -> bool:
    """Roles, scoped roles and the Django admin's rights (staff, superuser, groups, permissions): administrators
    only, wherever they are changed (the services, the admin)."""
    return bool(getattr(actor, "is_authenticated", False)) and actor.has_role(Role.ADMINISTRATOR)


def can_change_account(actor, user) -> bool:
    """An administrator's account (address, password, activity) is changed by administrators only: someone trusted
    with fixing e-mail addresses could otherwise take it over (its address made theirs, then a password reset)."""
    holds_all = user is not None and (user.is_superuser or user.role == Role.ADMINISTRATOR)
    return not holds_all or can_change_roles(actor)
