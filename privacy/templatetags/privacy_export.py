"""How the archive's index.html shows each value of the JSON files: labels in the person's words, dates as dates."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from live.notifications.models import Category

register = template.Library()

# The keys of privacy.selectors' dictionaries.
LABELS = {
    "answer": _("answer"), "as_decidim_sent_it": _("profile sent by Decidim"), "answered_at": _("answered on"),
    "bio": _("about me"), "blocked": _("person blocked"),
    "blocked_at": _("blocked on"), "blocked_reason": _("reason for blocking"), "comment_id": _("comment number"),
    "contribution_id": _("contribution number"), "contributions": _("contributions"),
    "conversation_id": _("conversation number"), "created_at": _("written on"), "date_joined": _("signed up on"),
    "debate": _("debate"), "debate_id": _("debate number"), "decided_at": _("decided on"),
    "decision": _("decision"), "decision_label": _("decision, in words"),
    "decidim_accounts": _("linked Decidim accounts"), "deleted_at": _("deleted on"), "description": _("description"),
    "details": _("details"), "digest_sent_at": _("last digest sent on"), "edited_at": _("edited on"),
    "expires_at": _("signed in until"), "floor_at": _("given the floor on"),
    "email": _("e-mail address"), "email_addresses": _("e-mail addresses recorded at sign-up"),
    "email_rhythm": _("e-mails"), "first_name": _("first name"),
    "from": _("from"), "granted_at": _("granted on"), "hidden_by_moderation": _("hidden by moderation"),
    "hidden_by_moderation_at": _("hidden by moderation on"),
    "hidden_reason": _("reason for hiding"), "id": _("number"), "ip": _("IP address"),
    "joined_at": _("joined on"), "kind": _("kind"), "language": _("language of my notifications"),
    "language_last_used": _("language last used"), "last_login": _("last sign-in"), "last_name": _("last name"),
    "meeting": _("meeting"), "messages": _("messages"), "messages_accepted_from": _("who may start a conversation with me"),
    "mine": _("written by me"), "nickname": _("nickname"), "notifications": _("notifications"),
    "object_id": _("item number"), "outcome": _("decision"), "outcome_label": _("decision, in words"), "open_data_name_hidden": _("nickname left out of the open data"),
    "parent_id": _("in reply to comment number"), "participations": _("participations"),
    "picture_shown_since": _("Decidim picture shown since"), "poll_answers": _("poll answers"),
    "provider": _("provider"), "push_message_text": _(
        "text of private messages in push notifications"),
    "push_service_address": _("push service address"), "question": _("question"), "raised_at": _("hand raised on"),
    "raised_hands": _("raised hands"), "read_at": _("read on"),
    "reason": _("reason"), "registered_at": _("registered on"), "role": _("role"),
    "roles_in_spaces": _("roles in spaces"), "score": _("score"), "sent_at": _("sent on"),
    "sessions": _("signed-in browsers"), "since": _("since"),
    "space": _("space"), "stance": _("stance"), "starts_at": _("starts on"), "status": _("status"),
    "subscribed_at": _("subscribed on"), "text": _("text"), "text_language": _("language of the text"), "title": _("title"), "uid": _("identifier"),
    "url": _("address"), "value": _("vote"), "verified": _("verified"), "votes": _("votes"), "with": _("with"),
    "word_answers": _("word-cloud answers"),
    **{category.value: category.label for category in Category},
}


@register.filter
def export_label(key) -> str:
    return LABELS.get(key, str(key).replace("_", " "))


@register.filter
def export_kind(value) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "empty"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list):
        return "list"
    # Only what privacy.selectors reads from a date field: a text is never guessed to be a date from its shape
    # (anyone can type "2024-13-01T10:00" to someone).
    if isinstance(value, datetime):
        return "date"
    return "text"


@register.filter
def export_date(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value
