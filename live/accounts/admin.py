from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from live.accounts import services
from live.accounts.models import RoleAssignment, User


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Administrators manage accounts here. Role and block changes reach the person's open sockets at once, as
    through the services: the admin writes rows, then tells the live layer like every other writer."""

    list_display = ["nickname", "email", "role", "is_active", "blocked_at", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["nickname", "email", "username"]
    fieldsets = UserAdmin.fieldsets + (("Agora", {"fields": ["nickname", "role", "bio", "blocked_at",
                                                              "blocked_reason"]}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("Agora", {"fields": ["nickname", "email", "role"]}),)
    inlines = [RoleAssignmentInline]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            return
        if "blocked_at" in form.changed_data and obj.blocked_at is not None:
            services.close_all_sockets(user=obj, reason="blocked", detail=obj.blocked_reason)
        elif "is_active" in form.changed_data and not obj.is_active:
            services.close_all_sockets(user=obj, reason="deactivated", detail="This account was deactivated.")
        elif {"role", "is_active", "is_superuser"} & set(form.changed_data):
            services.roles_changed(user=obj)

    @transaction.atomic
    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is RoleAssignment and (formset.new_objects or formset.changed_objects
                                                or formset.deleted_objects):
            services.roles_changed(user=form.instance)
