"""Demo moderation for `make run`: one reported comment awaiting review in mona's queue. Idempotent."""

from django.contrib.auth import get_user_model
from django.test import override_settings

from live.moderation import registry, services
from live.moderation.models import Case


def seed(stdout) -> None:
    if Case.objects.exists():
        return
    entry = registry.get("comment")
    if entry is None:
        return
    people = {user.nickname: user for user in get_user_model().objects.filter(nickname__in=["alice", "bob", "carol"])}
    comment = entry.model.objects.filter(hidden_at__isnull=True).exclude(author__nickname="carol").order_by(
        "-pk").first()
    if comment is None or "carol" not in people:
        return
    reporters = [people["carol"]] + [u for name, u in people.items() if name != "carol" and u != comment.author][:1]
    with override_settings(RATE_LIMITS_ENABLED=False):
        for reporter, reason, details in zip(reporters, ["does_not_belong", "other"],
                                             ["Hors sujet : ça n'a rien à voir avec la place.",
                                              "Le ton me gêne un peu."], strict=False):
            services.report(reporter=reporter, kind="comment", object_id=comment.pk, reason=reason, details=details)
    stdout.write(f"Moderation: a comment reported by {len(reporters)} people awaits review (sign in as mona).")
