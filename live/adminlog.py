"""What Django admin's log (LogEntry: "Recent actions" and each object's history, kept for ever) records of an object
whose `__str__` is what a person wrote (a comment's first words, a debate's title): its kind and number
("comment #42"), never its words, so that neither a removal, nor a retention, nor an erasure leaves them there
(docs/privacy.md). privacy.services.apply_retention rewrites the entries made before."""

from __future__ import annotations


def label(model, pk) -> str:
    """How the log names an object of `model` (a model, an instance) whose own name is someone's words."""
    return f"{model._meta.model_name} #{pk}"


class _Logged:
    """`obj` as the log records it: its model and number (what LogEntry keeps), named by `label`."""

    def __init__(self, obj):
        self.pk, self._meta = obj.pk, obj._meta

    def __str__(self):
        return label(self, self.pk)


class LogsNumbersNotWords:
    """A ModelAdmin mixin for a model whose `__str__` is user text: its log entries name it by `label`."""

    def log_addition(self, request, obj, message):
        return super().log_addition(request, _Logged(obj), message)

    def log_change(self, request, obj, message):
        return super().log_change(request, _Logged(obj), message)

    def log_deletions(self, request, queryset):
        return super().log_deletions(request, [_Logged(obj) for obj in queryset])


def models_logged_by_number() -> list[type]:
    """The models whose admin logs them by number: those whose older entries the retention rewrites."""
    from django.contrib import admin

    return [model for model, model_admin in admin.site._registry.items()
            if isinstance(model_admin, LogsNumbersNotWords)]
