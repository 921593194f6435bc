"""The admin reads debates and comments; every change it makes goes through debates.services (or moderation), so
open pages update at once."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from debates import permissions, services
from debates.models import Comment, Debate
from live import ratelimit
from live.adminlog import LogsNumbersNotWords


def each(model_admin, request, items, act, label=str) -> None:
    """`act(item)` for each selected item through its service: a refusal is reported for that item and the others go
    on; the moderator's rate limit stops the rest, said once (what was done stays done) instead of a 429 page."""
    items = list(items)
    for done, item in enumerate(items):
        try:
            act(item)
        except (PermissionDenied, ValidationError) as exc:
            model_admin.message_user(request, f"{label(item)}: {' '.join(getattr(exc, 'messages', [str(exc)]))}",
                                     messages.ERROR)
        except ratelimit.RateLimited as exc:
            model_admin.message_user(request, _("Stopped after %(done)s of %(total)s: %(why)s") % {
                "done": done, "total": len(items), "why": exc.message}, messages.ERROR)
            return


@admin.register(Debate)
class DebateAdmin(LogsNumbersNotWords, admin.ModelAdmin):  # its title: someone's words
    list_display = ["title", "author", "official", "state", "created_at"]
    list_filter = ["official", ("closed_at", admin.EmptyFieldListFilter), ("locked_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "description"]
    readonly_fields = [f.name for f in Debate._meta.fields]
    actions = ["lock", "unlock"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # as debates/forms.py reads a Decidim link

    def has_add_permission(self, request):
        return False  # opened from the site, through the service

    def has_delete_permission(self, request, obj=None):
        return False  # no service removes a debate with its comments: close or lock it instead

    @admin.action(description=_("Lock the comments"))
    def lock(self, request, queryset):
        self._lock(request, queryset, True)

    @admin.action(description=_("Unlock the comments"))
    def unlock(self, request, queryset):
        self._lock(request, queryset, False)

    def _lock(self, request, queryset, locked):
        from live.moderation import services as moderation

        each(self, request, queryset, lambda debate: moderation.set_lock(
            actor=request.user, space=debate.space, locked=locked, reason=str(_("Decided from the administration."))))


@admin.register(Comment)
class CommentAdmin(LogsNumbersNotWords, admin.ModelAdmin):  # its first words
    list_display = ["pk", "debate", "author", "depth", "alignment", "score", "created_at", "hidden_at", "deleted_at"]
    list_filter = [("hidden_at", admin.EmptyFieldListFilter), ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["body", "author__nickname"]
    list_select_related = ["debate", "author"]
    readonly_fields = [f.name for f in Comment._meta.fields]
    actions = ["hide", "unhide"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return permissions.can_remove_comment(request.user)

    # Deleting here removes the comment and its replies through the service: counters, tallies and open pages follow.
    def delete_model(self, request, obj):
        self.delete_queryset(request, Comment.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        def remove(pk):
            comment = Comment.objects.filter(pk=pk).first()
            if comment is not None:  # else a reply removed with its parent just before
                services.remove_comment(comment=comment, actor=request.user)

        each(self, request, queryset.order_by("depth", "pk").values_list("pk", flat=True), remove,
             label=lambda pk: f"#{pk}")

    # Through live.moderation: checked, logged and told to the author like any moderation decision.
    @admin.action(description=_("Hide the selected comments (moderation)"))
    def hide(self, request, queryset):
        self._moderate(request, queryset, "hide")

    @admin.action(description=_("Unhide the selected comments"))
    def unhide(self, request, queryset):
        self._moderate(request, queryset, "unhide")

    def _moderate(self, request, queryset, action):
        from live.moderation import services as moderation

        each(self, request, queryset, lambda comment: getattr(moderation, action)(
            actor=request.user, kind="comment", object_id=comment.pk, reason=str(_("Decided from the administration."))),
            label=lambda comment: f"#{comment.pk}")
