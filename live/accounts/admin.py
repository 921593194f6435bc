from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from live.accounts import permissions, services
from live.accounts.models import RoleAssignment, User

# What a person may do: changed by administrators only, through live.accounts.services (set_role, revoke_role,
# set_admin_rights), never as bare field writes; read-only for staff who may otherwise change accounts.
RIGHTS = ("role", "is_staff", "is_superuser", "groups", "user_permissions")


class RoleAssignmentInline(admin.TabularInline):
    """Scoped roles: added, changed and removed through set_role / revoke_role (administrators only)."""

    model = RoleAssignment
    extra = 0

    def has_view_permission(self, request, obj=None):
        return permissions.can_change_roles(request.user) or super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return permissions.can_change_roles(request.user)

    def has_change_permission(self, request, obj=None):
        return permissions.can_change_roles(request.user)

    def has_delete_permission(self, request, obj=None):
        return permissions.can_change_roles(request.user)


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Administrators manage accounts here. Rights (role, scoped roles, staff and superuser status, groups,
    permissions) are changed through live.accounts.services, by administrators only, and reach the person's open
    sockets at once; staff allowed to change accounts see them read-only, and cannot change an administrator's
    account at all. Blocking and unblocking go through live.moderation's services (logged, emailed); deactivating
    and reactivating through live.accounts.services (logged, never one's own account), from the form or the list."""

    list_display = ["nickname", "email", "role", "is_active", "blocked_at", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["nickname", "email", "username"]
    fieldsets = UserAdmin.fieldsets + (("Agora", {"fields": ["nickname", "role", "bio", "blocked_at",
                                                              "blocked_reason"]}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("Agora", {"fields": ["nickname", "email", "role"]}),)
    inlines = [RoleAssignmentInline]
    actions = ["deactivate_selected", "reactivate_selected"]

    def has_delete_permission(self, request, obj=None):
        # No service erases an account with what it wrote: deactivating it (is_active) closes its sessions instead.
        return False

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and permissions.can_change_account(request.user, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if permissions.can_change_roles(request.user) else fields + RIGHTS

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        changed = set(form.changed_data) if change else set()
        # Rights are not written with the other fields: the services change them once the account is saved.
        rights = {name: getattr(obj, name) for name in ("role", "is_staff", "is_superuser")
                  if name in changed or not change and name in form.cleaned_data}
        for name in rights:
            setattr(obj, name, form.initial.get(name, User._meta.get_field(name).get_default()))
        blocking = "blocked_at" in changed
        if blocking or "blocked_reason" in changed:
            # Blocking and unblocking go through moderation (log, email, sessions, sockets), not a bare field write;
            # the reason of a block is the one moderation logged and sent: not rewritten here on its own.
            obj.blocked_at, obj.blocked_reason = form.initial.get("blocked_at"), form.initial.get("blocked_reason", "")
            if not blocking:
                messages.warning(request, _("The reason of a block is the one sent to the person and logged: it was "
                                            "not changed. Unblock, then block again with the new reason."))
                self.not_changed(form, "blocked_reason")
        activating = "is_active" in changed
        if activating:
            obj.is_active = form.initial.get("is_active", True)  # deactivate / reactivate write it, if allowed
        super().save_model(request, obj, form, change)
        # Each change made in the same save has its consequence (not only the first one found).
        if blocking and not self.block_or_unblock(request, obj, form):
            self.not_changed(form, "blocked_at", "blocked_reason")
        if activating and not self.change_activation(request, obj, active=form.cleaned_data.get("is_active", True)):
            self.not_changed(form, "is_active")
        if {"email", "username"} & changed:
            # The sign-in address changed: every session ends, but the administrator's own when it is theirs.
            services.end_sessions(user=obj, reason="email_changed", keep=self.own_session(request, obj),
                                  detail="Your sign-in address was changed; sign in again.")
        form.rights = rights  # changed in save_related, with the groups and permissions: one change, one event

    def change_rights(self, request, user, *, role=None, **rights) -> bool:
        """Through the services: refused (with their message) unless the administrator may; sockets told. Whether
        it was done."""
        try:
            if any(value is not None for value in rights.values()):
                services.set_admin_rights(actor=request.user, user=user, **rights)
            if role is not None and role != user.role:
                services.set_role(actor=request.user, user=user, role=role)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            return False
        return True

    @staticmethod
    def not_changed(form, *names) -> None:
        """What a service refused (or found done) was not changed: the account's history (the admin's log entry,
        made from the form's changed fields once the save ends) does not say it was."""
        for name in names:
            if name in form.changed_data:
                form.changed_data.remove(name)

    def change_activation(self, request, user, *, active: bool, each: bool = False) -> bool:
        """Through the services: refused (with their message, naming the account with `each`) unless the
        administrator may; the person's sessions and sockets end with a deactivation. Whether it changed."""
        change = services.reactivate if active else services.deactivate
        try:
            return change(actor=request.user, user=user, reason=_("Decided from the administration.")) is not None
        except (ValidationError, PermissionDenied) as exc:
            refusal = " ".join(getattr(exc, "messages", [str(exc)]))
            messages.error(request, _("%(account)s: %(refusal)s") % {"account": user, "refusal": refusal}
                           if each else refusal)
            return False

    @admin.action(description=gettext_lazy("Deactivate selected accounts"), permissions=["change"])
    def deactivate_selected(self, request, queryset):
        if done := self.change_selected(request, queryset, active=False):
            messages.success(request, ngettext("%(count)d account deactivated.", "%(count)d accounts deactivated.",
                                               done) % {"count": done})

    @admin.action(description=gettext_lazy("Reactivate selected accounts"), permissions=["change"])
    def reactivate_selected(self, request, queryset):
        if done := self.change_selected(request, queryset, active=True):
            messages.success(request, ngettext("%(count)d account reactivated.", "%(count)d accounts reactivated.",
                                               done) % {"count": done})

    def change_selected(self, request, queryset, *, active: bool) -> int:
        """Each selected account through the service (each refusal reported with its name): how many changed."""
        return sum(self.change_activation(request, user, active=active, each=True) for user in queryset.order_by("pk"))

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

    def block_or_unblock(self, request, obj, form) -> bool:
        """Through moderation's services (logged, e-mailed); refused with their message. Whether it was done."""
        from live.moderation import services as moderation

        done = True
        try:
            if form.cleaned_data.get("blocked_at"):
                reason = form.cleaned_data.get("blocked_reason") or str(_("Decided from the administration."))
                moderation.block(actor=request.user, user=obj, reason=reason)
            else:
                moderation.unblock(actor=request.user, user=obj, reason=str(_("Decided from the administration.")))
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            done = False
        obj.refresh_from_db()
        return done

    @transaction.atomic
    def save_related(self, request, form, formsets, change):
        rights = getattr(form, "rights", {})
        rights.update({name: form.cleaned_data.pop(name) for name in ("groups", "user_permissions")
                       if name in form.changed_data and name in form.cleaned_data})
        super().save_related(request, form, formsets, change)
        if rights and not self.change_rights(request, form.instance, **rights):
            self.not_changed(form, *rights)

    @transaction.atomic
    def save_formset(self, request, form, formset, change):
        if formset.model is not RoleAssignment:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # what the inline asks for; set_role and revoke_role write it
        actor, user = request.user, form.instance
        try:
            for assignment in formset.deleted_objects:
                services.revoke_role(actor=actor, user=user, role=assignment.role, space=assignment.space)
            for assignment, _fields in formset.changed_objects:
                before = RoleAssignment.objects.get(pk=assignment.pk)
                services.revoke_role(actor=actor, user=user, role=before.role, space=before.space)
                services.set_role(actor=actor, user=user, role=assignment.role, space=assignment.space)
            for assignment in formset.new_objects:
                services.set_role(actor=actor, user=user, role=assignment.role, space=assignment.space)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
