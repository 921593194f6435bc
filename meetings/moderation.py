"""Contributions go through the platform's moderation (reports, auto-hide, blocking) with the same hide/unhide
services the facilitators' console uses, so a hidden contribution vanishes from every phone and the screen."""

from live.moderation import registry
from meetings import services
from meetings.models import Contribution, Meeting


def _hide_all_by(user, *, actor, reason):
    """Hide every visible contribution of `user` (blocked); the contributions it hid, for moderation's records."""
    hidden = []
    for contribution in Contribution.objects.filter(participant__user=user, hidden_at__isnull=True):
        hidden.append(services.hide_contribution(actor=actor, contribution=contribution, reason=reason, check=False))
    return hidden


registry.register(registry.Moderatable(
    kind="contribution",
    model=Contribution,
    hide=lambda obj, *, actor, reason: services.hide_contribution(actor=actor, contribution=obj, reason=reason,
                                                                  check=False),
    unhide=lambda obj, *, actor: services.unhide_contribution(actor=actor, contribution=obj, check=False),
    is_hidden=lambda obj: obj.hidden_at is not None,
    space=lambda obj: f"meeting.{obj.meeting_id}",
    author=lambda obj: obj.participant.user,  # None for an anonymous guest
    excerpt=lambda obj: obj.body[:200],
    url=lambda obj: obj.get_absolute_url(),
    can_report=lambda obj, user: obj.is_visible,
    hide_all_by=_hide_all_by,
    label="contribution",
))

registry.register_space(registry.ModeratedSpace(
    prefix="meeting",
    model=Meeting,
    title=lambda meeting: meeting.title,
    url=lambda meeting: meeting.get_absolute_url(),
    slow_mode=lambda meeting, *, actor, seconds, reason: services.set_slow_mode(meeting=meeting, seconds=seconds),
    slow_mode_seconds=lambda meeting: meeting.slow_mode_seconds,
))
