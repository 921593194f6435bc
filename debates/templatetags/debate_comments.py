from django import template
from django.utils.safestring import mark_safe

from debates import comment_html, fragments, permissions

register = template.Library()


@register.simple_tag(takes_context=True)
def prepare_comments(context, *groups) -> str:
    """`{% prepare_comments roots %}` before rendering a list of threads: their cached HTML in one read
    (debates/fragments.py); comment.html uses it when present."""
    fragments.prepare(context, [root for group in groups if group for root in group])
    return ""


@register.filter
def debate_refusal(debate) -> str | None:
    """`{{ debate|debate_refusal }}`: why nobody may comment now (debates.permissions), or None."""
    return permissions.debate_refusal(debate)


# A comment's fragments, shared with the pushes and the page's cache: built by debates/comment_html.py from the
# context's values (`comment` and the names comment_html.Around reads), one way to write each, whoever shows it.

@register.simple_tag(takes_context=True)
def debate_comment(context) -> str:
    """debates/comment.html: a comment with its replies."""
    comment = context["comment"]
    cached = getattr(comment, "thread_html", None)  # fragments.prepare's
    if cached:
        return cached
    return mark_safe(comment_html.thread_html(comment, comment_html.Around.of(context), oob=context.get("oob")))


@register.simple_tag(takes_context=True)
def debate_comment_main(context) -> str:
    return mark_safe(comment_html.main_html(context["comment"], comment_html.Around.of(context),
                                            oob=context.get("oob")))


@register.simple_tag(takes_context=True)
def debate_comment_vote(context) -> str:
    return mark_safe(comment_html.vote_html(context["comment"], comment_html.Around.of(context),
                                            oob=context.get("oob")))


@register.simple_tag(takes_context=True)
def debate_comment_score(context) -> str:
    return mark_safe(comment_html.score_html(context["comment"], oob=context.get("oob")))


@register.simple_tag(takes_context=True)
def debate_more_replies(context) -> str:
    return mark_safe(comment_html.more_replies_html(context["comment"], oob=context.get("oob")))


@register.simple_tag(takes_context=True)
def debate_tallies(context) -> str:
    """debate_detail.html's `tallies` partial: the stance counts."""
    return mark_safe(comment_html.tallies_html(context["tallies"], oob=context.get("oob")))
