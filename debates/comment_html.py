"""A debate comment's HTML, built in Python: its thread (`<article>`, its replies and "show N more replies"), its
main part (author, text, actions), its vote form and its score.

One way to write each, whoever shows it: the page's templates (debates/comment.html, comment_main.html,
comment_vote.html, comment_score.html and more_replies.html are one template tag each, templatetags/
debate_comments.py), the page's cache (fragments.py, whose keys include this file's source) and the pushes
(renderers.py). Through Django's template engine a comment's push cost about 40 Python calls per template node,
some 110 nodes per language and audience (docs/performance.md, #17); written out here a comment costs a few hundred.

The output is byte for byte what those templates produced (tests/debates/test_comment_html.py renders them, kept as
they were in tests/debates/templates_before/, and compares): the same spacing and newlines, numbers unlocalized
(`{% localize off %}`), dates in the active language and time zone, every variable escaped as autoescape does and
the translated texts not (as `{% translate %}`), with the templates' msgids so the catalogs keep working."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from debates.models import Stance
from live import html


@dataclass(frozen=True)
class Around:
    """What the page or push around the comments gives them (the template context's names): the reader's CSRF
    token, the path the vote form sends them back to without JavaScript (`request.path`), whether the moderators'
    controls show, the moderation endpoints, the comment a permalink page focuses on."""

    csrf_token: object = None  # "NOTPROVIDED" in pushes: htmx sends the token as a header
    next_path: str | None = None
    moderator_view: bool = False
    report_url: str = ""
    act_url: str = ""
    focus_pk: int | None = None

    @classmethod
    def of(cls, context) -> Around:
        """From a template context (or a dict) with the names the templates read."""
        request, focus = context.get("request"), context.get("focus")
        return cls(csrf_token=context.get("csrf_token"), next_path=request.path if request else None,
                   moderator_view=bool(context.get("moderator_view")), report_url=context.get("report_url") or "",
                   act_url=context.get("act_url") or "", focus_pk=focus.pk if focus else None)

    @property
    def csrf_input(self) -> str:
        """`{% csrf_token %}`."""
        return html.csrf_input(self.csrf_token)


# `comment.get_alignment_display()`'s labels (lazy, translated when escaped), without its per-call hashing of the
# choices (~70 Python calls a comment).
_STANCE_LABELS = dict(Stance.choices)


def score_html(comment, *, oob=False) -> str:
    """The score between the vote buttons (the vote's push replaces it alone)."""
    score = comment.score
    sign = " positive" if score > 0 else " negative" if score < 0 else ""
    title = _("%(up)s up, %(down)s down") % {"up": comment.upvotes, "down": comment.downvotes}
    label = _("Score:")
    return (f'<span id="comment-{comment.pk}-score" class="score{sign}"{html.oob(oob)}\n  title="{title}">'
            f'<span class="visually-hidden">{label} </span>{score}</span>')


def vote_html(comment, around: Around, *, oob=False) -> str:
    """The vote form, the reader's own vote pressed (`comment.my_vote`: 1, -1 or 0)."""
    pk, url = comment.pk, escape(comment.url)
    vote = getattr(comment, "my_vote", None)
    up_value, up_pressed = ("none", "true") if vote == 1 else ("up", "false")
    down_value, down_pressed = ("none", "true") if vote == -1 else ("down", "false")
    next_input = ("" if around.next_path is None
                  else f'<input type="hidden" name="next" value="{escape(around.next_path)}">')
    up, down = _("Vote up"), _("Vote down")
    return (f'\n<form id="comment-{pk}-vote" class="vote-form" method="post" action="{url}vote/"\n'
            f'      hx-post="{url}vote/" hx-target="this" hx-swap="outerHTML" data-live-write="debates.vote"\n'
            f'      data-live-errors="comment-{pk}-errors" data-live-key="comment">\n'
            f'  {around.csrf_input}<input type="hidden" name="comment" value="{pk}">{next_input}\n'
            f'  <button type="submit" name="value" value="{up_value}" class="vote-button button-unstyled vote-up '
            f'others-only when-open signed-in-only"\n'
            f'          aria-pressed="{up_pressed}" data-vote="up">\n'
            f'    <span aria-hidden="true">▲</span><span class="visually-hidden">{up}</span></button>\n'
            f'  {score_html(comment, oob=oob)}\n\n'
            f'  <button type="submit" name="value" value="{down_value}" class="vote-button button-unstyled vote-down '
            f'others-only when-open signed-in-only"\n'
            f'          aria-pressed="{down_pressed}" data-vote="down">\n'
            f'    <span aria-hidden="true">▼</span><span class="visually-hidden">{down}</span></button>\n'
            f'</form>')


def _moderation_html(comment, around: Around, pk, url) -> str:
    """Hide, or unhide, for the moderators."""
    act = escape(around.act_url)
    # (Texts translated outside the f-strings: makemessages does not look inside them.)
    fields = (f'{around.csrf_input}<input type="hidden" name="kind" value="comment"><input type="hidden" name="id" '
              f'value="{pk}">\n')
    if comment.is_hidden:
        unhide = _("Unhide")
        return (f'\n    \n    <form class="moderator-only" method="post" action="{act}" hx-post="{act}" hx-swap="none">\n'
                f'      {fields}'
                f'      <input type="hidden" name="next" value="{url}">\n'
                f'      <button type="submit" name="action" value="unhide" class="link-button">{unhide}</button>\n'
                f'    </form>\n    \n    ')
    hide, reason, confirm = _("Hide"), _("Reason (shown to the author)"), _("Hide this comment")
    return (f'\n    \n    <details class="moderator-only hide-disclosure">\n'
            f'      <summary>{hide}</summary>\n'
            f'      <form method="post" action="{act}" hx-post="{act}" hx-swap="none" class="stack">\n'
            f'        {fields}'
            f'        <input type="hidden" name="next" value="{url}">\n'
            f'        <label for="hide-reason-{pk}">{reason}</label>\n'
            f'        <input id="hide-reason-{pk}" name="reason" maxlength="300" required>\n'
            f'        <button type="submit" name="action" value="hide" class="button">{confirm}</button>\n'
            f'      </form>\n'
            f'    </details>\n    \n    ')


def _shown_html(comment, around: Around, pk, url, oob) -> str:
    """A comment the reader may read: its header, text and actions."""
    author, hidden = comment.author, comment.is_hidden
    name = escape(author.public_name)
    if author.is_erased:
        by, deleted = name, _("[deleted]")
        body = f'<p class="muted">{deleted}</p>'
    else:
        by = f'<a href="{escape(author.get_absolute_url())}">{name}</a>'
        body = comment.body_html
    stance = ""
    if comment.depth == 0:
        stance = (f'<span class="badge stance-badge stance-badge-{comment.stance_slug}">'
                  f'{escape(str(_STANCE_LABELS.get(comment.alignment, comment.alignment)))}</span>')
    created = timezone.localtime(comment.created_at)
    edited = "(" + _("edited") + ")" if comment.edited_at else ""
    note = ""
    if hidden:
        reason = " " + _("Reason:") + f" {escape(comment.hidden_reason)}" if comment.hidden_reason else ""
        only_moderators = _("Hidden by moderation: only moderators see this.")
        note = f'<p class="hidden-note" role="note">{only_moderators}{reason}</p>'
    # settle:0ms: the form put in the panel is htmx's at once (its hx-post bound at the swap, not 20 ms later), so
    # an Enter pressed as soon as it shows posts it in place instead of leaving the page.
    panel = f'hx-target="#comment-{pk}-panel" hx-swap="innerHTML settle:0ms"'
    reply = edit = report = ""
    if comment.depth < 2 and not hidden:
        label = _("Reply")
        reply = (f'<a class="action-link reply-link when-open signed-in-only" href="{url}reply/" '
                 f'hx-get="{url}reply/" {panel}>{label}</a>')
    if not hidden:
        label = _("Edit")
        edit = (f'<a class="action-link edit-link own-only when-open" href="{url}edit/" hx-get="{url}edit/" '
                f'{panel}>{label}</a>')
    if around.report_url and not hidden:
        label = _("Report")
        report = (f'<a class="action-link report-link others-only signed-in-only" href="{url}report/" '
                  f'hx-get="{url}report/" {panel}>{label}</a>')
    confirm, delete = _("Delete this comment? Its replies stay."), _("Delete")
    moderation = _moderation_html(comment, around, pk, url) if around.moderator_view and around.act_url else ""
    return (f'\n  <header class="comment-meta">\n'
            f'    <span class="avatar" style="--hue: {author.avatar_hue}" aria-hidden="true">'
            f'{escape(author.initials)}</span>\n'
            f'    <span id="comment-{pk}-by" class="comment-author">{by}</span>\n'
            f'    {stance}\n'
            f'    <a class="comment-time muted" href="{url}#comment-{pk}"><time datetime="{escape(created.isoformat())}">'
            f'{escape(html.moment_text(created))}</time></a>\n'
            f'    <span id="comment-{pk}-edited" class="muted">{edited}</span>\n'
            f'  </header>\n'
            f'  {note}\n'
            f'  <div class="comment-body" id="comment-{pk}-body">{body}</div>\n'
            f'  <div class="comment-actions">\n'
            f'    {vote_html(comment, around, oob=oob)}\n\n'
            f'    \n'
            f'    {reply}\n'
            f'    {edit}\n'
            f'    <form class="own-only delete-form" method="post" action="{url}delete/"\n'
            f'          hx-post="{url}delete/" hx-swap="none"\n'
            f'          hx-confirm="{confirm}">\n'
            f'      {around.csrf_input}<button type="submit" class="link-button">{delete}</button>\n'
            f'    </form>\n'
            f'    {report}\n'
            f'    {moderation}\n'
            f'    <div id="comment-{pk}-errors" class="form-errors"></div>\n'
            f'  </div>\n')


def main_html(comment, around: Around, *, oob=False) -> str:
    """A comment without its replies (an edit, a hide, a deletion replaces it alone): its text and actions, or
    the placeholder of a deleted comment, or of a hidden one outside the moderators' view."""
    pk, url = comment.pk, escape(comment.url)
    hidden, deleted = comment.is_hidden, comment.is_deleted
    if deleted or (hidden and not around.moderator_view):
        if deleted:
            text = _("This comment was deleted by its author.")
        else:
            text = _("This comment was hidden by moderation.")
        inner = f'\n  <p class="comment-placeholder muted" id="comment-{pk}-by">{text}</p>\n'
    else:
        inner = _shown_html(comment, around, pk, url, oob)
    return (f'\n<div id="comment-{pk}-main" class="comment-main{" is-hidden" if hidden else ""}'
            f'{" is-deleted" if deleted else ""}"\n     data-author="{comment.author_id}"{html.oob(oob)}>\n{inner}\n</div>')


def more_replies_html(comment, *, oob=False) -> str:
    """"Show N more replies" under a thread's folded replies (`comment.more_replies`)."""
    pk, url, count = comment.pk, escape(comment.url), comment.more_replies
    text = ngettext("Show %(counter)s more reply", "Show %(counter)s more replies", count) % {"counter": count}
    return (f'<p id="more-replies-{pk}" class="more-replies"{html.oob(oob)}>\n'
            f'    <a href="{url}"\n'
            f'       hx-get="{url}replies/" hx-target="#replies-{pk}" hx-swap="innerHTML">\n'
            f'      {text}</a>\n  </p>')


def thread_html(comment, around: Around, *, oob=False) -> str:
    """A comment with its shown replies (`comment.children`) and its folded ones' link: the page, "show more
    replies", the permalink and the push of a new comment all show this. `comment.thread_html` and
    `comment.main_html`, when present, are this and main_html() as the page's cache holds them (fragments.py)."""
    cached = getattr(comment, "thread_html", None)
    if cached:
        return cached
    pk, depth, stance = comment.pk, comment.depth, comment.stance_slug
    focus = " is-focus" if around.focus_pk is not None and around.focus_pk == pk else ""
    main = getattr(comment, "main_html", None) or main_html(comment, around, oob=oob)
    below = ""
    if depth < 2:
        replies = "".join(thread_html(reply, around, oob=oob) + "\n" for reply in getattr(comment, "children", ()))
        more = f"\n  {more_replies_html(comment, oob=oob)}\n\n  " if getattr(comment, "more_replies", 0) else ""
        below = (f'\n  <div id="typing-{pk}" class="typing-indicator"></div>\n'
                 f'  <div class="replies" id="replies-{pk}">{replies}</div>\n  {more}\n  ')
    return (f'\n<article id="comment-{pk}" class="comment depth-{depth} stance-{stance}{focus}"\n'
            f'         data-comment="{pk}" data-stance="{stance}" data-depth="{depth}"\n'
            f'         aria-labelledby="comment-{pk}-by">\n'
            f'  {main}\n\n'
            f'  <div id="comment-{pk}-panel" class="comment-panel"></div>\n'
            f'  {below}\n'
            f'</article>')


def tallies_html(tallies: dict, *, oob=False) -> str:
    """The debate's stance counts beside its thread (selectors.tallies), which every comment's push updates."""
    total = tallies["total"]
    label, counted = _("Stances"), ngettext("%(counter)s comment", "%(counter)s comments", total) % {"counter": total}
    for_, neutral, against = _("For"), _("Neutral"), _("Against")
    return (f'<section id="debate-tallies" class="tallies" aria-label="{label}"{html.oob(oob)}>\n'
            f'    <p class="tally-total">{counted}</p>\n'
            f'    <ul class="tally-list">\n'
            f'      <li class="tally tally-for"><span class="tally-label">{for_}</span> '
            f'<strong data-tally="for">{tallies["for"]}</strong></li>\n'
            f'      <li class="tally tally-neutral"><span class="tally-label">{neutral}</span> '
            f'<strong data-tally="neutral">{tallies["neutral"]}</strong></li>\n'
            f'      <li class="tally tally-against"><span class="tally-label">{against}</span> '
            f'<strong data-tally="against">{tallies["against"]}</strong></li>\n'
            f'    </ul>\n'
            f'    <div class="tally-bar" aria-hidden="true"><span class="bar-for" style="width: {tallies["for_pct"]}%">'
            f'</span><span class="bar-neutral" style="width: {tallies["neutral_pct"]}%"></span>'
            f'<span class="bar-against" style="width: {tallies["against_pct"]}%"></span></div>\n'
            f'  </section>')
