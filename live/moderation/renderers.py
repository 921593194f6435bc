"""`case.updated` on the moderation streams (streams.py): the queue row drawn from the current state, or deleted
once a decision is made, on every moderator's screen at once; `moderators.changed`, a control event (nothing
drawn)."""


from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from live import paths, streams
from live.html import csrf_input
from live.moderation import queue
from live.moderation import streams as moderation_streams
from live.moderation.models import Case

# --- the fragments a page and a push share -------------------------------------------------------------------------
# Built in Python, as live/messaging/renderers.py does, for the pushes that carry them (a meeting contribution's
# item, meetings/renderers.py) and for the pages, through templatetags/moderation.py: one way to write each.
# Variables are escaped as the template engine does; translated texts are not (neither does `{% translate %}`).

def report_form_html(kind, id, *, csrf_token=None, next_path=None) -> str:
    """The report disclosure (a <details> with its form, POSTed to `moderation:report`) for object `id` of `kind`;
    `next_path` (the page's path, when there is a request) brings the reporter back there without JavaScript."""
    action = escape(paths.reverse_or_none("moderation:report") or "")
    kind, id = escape(kind), escape(id)
    csrf = csrf_input(csrf_token)
    after = f'<input type="hidden" name="next" value="{escape(next_path)}">' if next_path is not None else ""
    # (Texts translated outside the f-strings: makemessages does not look inside them.)
    report, why, spam, offensive = _("Report"), _("Why are you reporting this?"), _("Spam"), _("Offensive")
    elsewhere, other, details, send = (_("Does not belong here"), _("Other"), _("Details (optional)"),
                                       _("Send the report"))
    return (f'<details class="report-disclosure others-only">\n'
            f'  <summary>{report}</summary>\n'
            f'  <form method="post" action="{action}" class="report-form stack"\n'
            f'        hx-post="{action}" hx-target="this" hx-swap="outerHTML">\n'
            f'    {csrf}\n'
            f'    <input type="hidden" name="kind" value="{kind}">\n'
            f'    <input type="hidden" name="id" value="{id}">\n'
            f'    {after}\n'
            f'    <fieldset>\n'
            f'      <legend>{why}</legend>\n'
            f'      <label><input type="radio" name="reason" value="spam" required> {spam}</label>\n'
            f'      <label><input type="radio" name="reason" value="offensive"> {offensive}</label>\n'
            f'      <label><input type="radio" name="reason" value="does_not_belong"> {elsewhere}</label>\n'
            f'      <label><input type="radio" name="reason" value="other"> {other}</label>\n'
            f'    </fieldset>\n'
            f'    <label for="report-details-{kind}-{id}">{details}</label>\n'
            f'    <textarea id="report-details-{kind}-{id}" name="details" rows="2" maxlength="1000" '
            f'aria-describedby="report-{kind}-{id}-errors"></textarea>\n'
            f'    <div id="report-{kind}-{id}-errors" class="form-errors"></div>\n'
            f'    <button type="submit" class="button">{send}</button>\n'
            f'  </form>\n'
            f'</details>')


# --- the events' renderers ---------------------------------------------------------------------------------------------

@streams.renderer("moderators.changed")
def render_moderators_changed(event, r):
    return None  # a control event: sockets re-check their subscriptions (someone lost the right to follow)


@streams.renderer("case.updated")
def render_case(event, r):
    space = event.stream.partition(".")[2]
    space = "" if space == "global" else space
    case = r.once("case", lambda: Case.objects.select_related("author").filter(pk=event.data.get("case")).first())
    if case is None:
        return None
    counter = queue.counter(space)
    if case.is_open:
        row = queue.row(case)
        announce = ngettext("Reported: %(kind)s (%(count)s report)", "Reported: %(kind)s (%(count)s reports)",
                            case.report_count) % {"kind": row["label"], "count": case.report_count}
    else:
        row = None
        announce = _("A report was handled.")
    html = render_to_string("moderation/queue.html#queue-push", {
        "row": row, "case": case, "counter": counter, "announce": announce,
    })
    if case.author_id is None:
        return html
    # The author, if a moderator, gets no row (nor its reporters' names), as their queue page shows none.
    own = render_to_string("moderation/queue.html#queue-push", {
        "row": None, "case": case, "counter": counter, "announce": "", "own": True,
    })
    return {streams.ALL: html, moderation_streams.audience(case.author_id): own}
