"""`case.updated` on the moderation streams (streams.py): the queue row drawn from the current state, or deleted
once a decision is made, on every moderator's screen at once."""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from live import streams
from live.moderation import queue
from live.moderation.models import Case


@streams.renderer("case.updated")
def render_case(event, r):
    space = event.stream.partition(".")[2]
    space = "" if space == "global" else space
    case = r.once("case", lambda: Case.objects.select_related("author").filter(pk=event.data.get("case")).first())
    if case is None:
        return None
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
