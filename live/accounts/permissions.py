"""Who may do what with accounts: small predicates for the services, the admin and the templates."""

from live.accounts.models import Role


def can_change_roles(actor) -> bool:
    """Roles, scoped roles and the Django admin's rights (staff, superuser, groups, permissions): administrators
    only, wherever they are changed (the services, the admin)."""
    return bool(getattr(actor, "is_authenticated", False)) and actor.has_role(Role.ADMINISTRATOR)


def can_change_account(actor, user) -> bool:
    """An account holding any rights (an administrator, a moderator, a facilitator, of the whole site or of one
    space; staff, superuser) is changed by administrators only: someone trusted with fixing participants' e-mail
    addresses could otherwise take it over (its address made theirs, then a password reset) and act with its
    rights."""
    if user is None or can_change_roles(actor):
        return True
    holds_rights = (user.is_superuser or user.is_staff or user.role != Role.PARTICIPANT
                    or user.role_assignments.exists())
    return not holds_rights


def can_change_accounts(actor) -> bool:
    """Changing accounts at all: administrators, and staff given Django's `change_user` permission (to fix an
    e-mail address, deactivate a participant's account)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active or actor.is_blocked:
        return False
    return can_change_roles(actor) or (actor.is_staff and actor.has_perm("accounts.change_user"))


def can_deactivate(actor, user) -> bool:
    """Deactivating or reactivating `user`'s account: someone who may change accounts and this one
    (`can_change_account`: an account holding rights is for administrators only), never their own, so that an
    administrator cannot lock themselves out."""
    return (user is not None and can_change_accounts(actor) and can_change_account(actor, user)
            and actor.pk != user.pk)
