from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from live.accounts import services
from live.accounts.models import RoleAssignment, User


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
        blocking = change and "blocked_at" in form.changed_data
        if blocking:
            # Blocking and unblocking go through moderation (log, email, sessions, sockets), not a bare field write.
            obj.blocked_at, obj.blocked_reason = form.initial.get("blocked_at"), form.initial.get("blocked_reason", "")
        super().save_model(request, obj, form, change)
        if blocking:
            self.block_or_unblock(request, obj, form)
        elif change and "is_active" in form.changed_data and not obj.is_active:
            services.close_all_sockets(user=obj, reason="deactivated", detail="This account was deactivated.")
        elif change and {"role", "is_active", "is_superuser"} & set(form.changed_data):
            services.roles_changed(user=obj)

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
            services.roles_changed(user=form.instance)
