from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from live.accounts import services
from live.accounts.models import Role, RoleAssignment, User
from live.close_codes import Close


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Administrators manage accounts here. Role changes reach the person's open sockets at once (as through
    live.accounts.services); blocking and unblocking go through live.moderation's services (logged, emailed)."""

    list_display = ["nickname", "email", "role", "is_active", "blocked_at", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["nickname", "email", "username"]
    fieldsets = UserAdmin.fieldsets + (("Agora", {"fields": ["nickname", "role", "bio", "blocked_at",
                                                              "blocked_reason"]}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("Agora", {"fields": ["nickname", "email", "role"]}),)
    inlines = [RoleAssignmentInline]

    def has_delete_permission(self, request, obj=None):
        # No service erases an account with what it wrote: deactivating it (is_active) closes its sessions instead.
        return False

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        changed = set(form.changed_data) if change else set()
        blocking = "blocked_at" in changed
        if blocking or "blocked_reason" in changed:
            # Blocking and unblocking go through moderation (log, email, sessions, sockets), not a bare field write;
            # the reason of a block is the one moderation logged and sent: not rewritten here on its own.
            obj.blocked_at, obj.blocked_reason = form.initial.get("blocked_at"), form.initial.get("blocked_reason", "")
            if not blocking:
                messages.warning(request, _("The reason of a block is the one sent to the person and logged: it was "
                                            "not changed. Unblock, then block again with the new reason."))
        super().save_model(request, obj, form, change)
        # Each change made in the same save has its consequence (not only the first one found).
        if blocking:
            self.block_or_unblock(request, obj, form)
        if "is_active" in changed and not obj.is_active:
            services.end_sessions(user=obj, reason="deactivated", code=Close.FORBIDDEN,
                                  detail="This account was deactivated.")
        if {"email", "username"} & changed:
            # The sign-in address changed: every session ends, but the administrator's own when it is theirs.
            services.end_sessions(user=obj, reason="email_changed", keep=self.own_session(request, obj),
                                  detail="Your sign-in address was changed; sign in again.")
        if {"role", "is_active", "is_superuser"} & changed:
            revoked = (form.initial.get("role") not in (obj.role, Role.PARTICIPANT)
                       or form.initial.get("is_superuser") and not obj.is_superuser)
            services.roles_changed(user=obj, revoked=bool(revoked))

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        before = user.password if user is not None else None
        keep = self.own_session(request, user)
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if user is not None and request.method == "POST":
                user.refresh_from_db(fields=["password"])
                if user.password != before:
                    services.end_sessions(user=user, reason="password_changed",
                                          keep=keep + (request.session.session_key,) if keep else (),
                                          detail="Your password was changed; sign in again.")
        return response

    @staticmethod
    def own_session(request, user) -> tuple:
        """The administrator's own session, kept (as Django's update_session_auth_hash keeps it) when `user` is
        the administrator."""
        return (request.session.session_key,) if user is not None and user.pk == request.user.pk else ()

    def block_or_unblock(self, request, obj, form):
        from live.moderation import services as moderation

        try:
            if form.cleaned_data.get("blocked_at"):
                reason = form.cleaned_data.get("blocked_reason") or str(_("Decided from the administration."))
                moderation.block(actor=request.user, user=obj, reason=reason)
            else:
                moderation.unblock(actor=request.user, user=obj, reason=str(_("Decided from the administration.")))
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        obj.refresh_from_db()

    @transaction.atomic
    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is RoleAssignment and (formset.new_objects or formset.changed_objects
                                                or formset.deleted_objects):
            services.roles_changed(user=form.instance,
                                   revoked=bool(formset.changed_objects or formset.deleted_objects))
