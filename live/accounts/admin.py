from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from live.accounts.models import RoleAssignment, User


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0


@admin.register(User)
class AccountAdmin(UserAdmin):
    list_display = ["nickname", "email", "role", "is_active", "blocked_at", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["nickname", "email", "username"]
    fieldsets = UserAdmin.fieldsets + (("Agora", {"fields": ["nickname", "role", "bio", "blocked_at",
                                                              "blocked_reason"]}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("Agora", {"fields": ["nickname", "email", "role"]}),)
    inlines = [RoleAssignmentInline]
