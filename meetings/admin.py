"""Read-only admin: every change goes through meetings/services.py (the console and the meeting forms), so that it
reaches the phones and the screen; the admin is for looking things up."""

from django.contrib import admin
from django.db import models

from meetings.models import AgendaItem, Contribution, Meeting, Participant, Poll


class ReadOnly(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # as meetings/forms.py reads links

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AgendaInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(ReadOnly):
    list_display = ["title", "starts_at", "kind", "live_open", "join_code", "premoderation"]
    list_filter = ["kind", "live_open"]
    search_fields = ["title", "place"]
    exclude = ["screen_token"]
    inlines = [AgendaInline]


@admin.register(Contribution)
class ContributionAdmin(ReadOnly):
    list_display = ["body", "meeting", "participant", "kind", "status", "hidden_at", "pinned", "vote_count"]
    list_filter = ["status", "kind"]
    search_fields = ["body"]


@admin.register(Participant)
class ParticipantAdmin(ReadOnly):
    list_display = ["nickname", "meeting", "user", "joined_at"]
    exclude = ["token"]


@admin.register(Poll)
class PollAdmin(ReadOnly):
    list_display = ["question", "meeting", "kind", "status"]
