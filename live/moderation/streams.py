"""Moderation streams: `moderation.global` (global moderators) and `moderation.<space>` (e.g.
`moderation.debate.42`, that space's moderators and global ones). Each carries `case.updated`; the renderer draws
the queue row from the current state, or deletes it once a decision is made, on every moderator's screen at once."""

from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from live import streams
from live.moderation import queue, rules
from live.moderation.models import Case


def authorize(viewer, rest: str) -> str:
    user = viewer.user
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    if rest == "global":
        if not rules.is_global_moderator(user):
            raise PermissionDenied
    elif not rules.can_moderate(user, rest):
        raise PermissionDenied
    return "moderators"


streams.register_stream("moderation", authorize=authorize)


@streams.renderer("case.updated")
def render_case(event):
    case = Case.objects.select_related("author").filter(pk=event.data.get("case")).first()
    if case is None:
        return None
    space = event.stream.partition(".")[2]
    space = "" if space == "global" else space
    if case.is_open:
        row = queue.row(case)
        announce = ngettext("Reported: %(kind)s (%(count)s report)", "Reported: %(kind)s (%(count)s reports)",
                            case.report_count) % {"kind": row["label"], "count": case.report_count}
    else:
        row = None
        announce = _("A report was handled.")
    return render_to_string("moderation/queue.html#queue-push", {
        "row": row, "case": case, "counter": queue.counter(space), "announce": announce,
    })
