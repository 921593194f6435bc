"""The one seam between a write view and its refusals.

A service refuses a write by raising ValidationError (bad input), PermissionDenied (not allowed: the service words
why) or RateLimited (too many attempts). A write view does not catch them: `@action` (or, for a view that renders a
Django form again, `submit` + `form_page`) answers them the same way everywhere:

- with htmx: the flash partial (live/flash.html) retargeted into the form's error slot (or the page's #flash),
  with the refusal's status (400, 403, 429 + Retry-After): live.js swaps these 4xx answers and marks as invalid the
  fields the refusal names (data-refusal-fields), else those the slot describes; the announcer says the message once;
- without JavaScript: the form again with its errors (`page=` or `form_page`), or, for a button, a 403 page with the
  service's message, a 429 page, or the message flashed after a redirect back (a ValidationError).

Every answer to a RateLimited is a 429 with Retry-After, with and without htmx, in every language.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_htmx.http import reswap, retarget

from live import metrics
from live.ratelimit import RateLimited

REFUSALS = (ValidationError, PermissionDenied, RateLimited)
NON_FIELD = "__all__"

KINDS = ((RateLimited, "rate_limited", 429), (PermissionDenied, "forbidden", 403), (ValidationError, "invalid", 400))


def kind_of(exc) -> str:
    return next(kind for cls, kind, _status in KINDS if isinstance(exc, cls))


def status_of(exc) -> int:
    return next(status for cls, _kind, status in KINDS if isinstance(exc, cls))


def message_of(exc) -> str:
    """What the person reads: the service's own words (a PermissionDenied without words gets the one default)."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, RateLimited):
        return exc.message
    return str(exc) or _("You are not allowed to do this.")


# --- the same refusals over the socket (live/socket_writes.py) ------------------------------------------------------

NOT_FOUND = (ObjectDoesNotExist, Http404)
SOCKET_REFUSALS = (*REFUSALS, *NOT_FOUND)


def fields_of(exc) -> list[str]:
    """The fields a refusal names (a ValidationError raised with a dict): those the browser marks invalid."""
    return [name for name in getattr(exc, "error_dict", {}) if name != NON_FIELD]


def refusal_frame(exc) -> dict:
    """A refused socket write, in the active language: the words and kinds of the HTTP answers, the fields a
    ValidationError names, when to retry a rate limit. A missing object is "not_found" (what a 404 page says)."""
    if isinstance(exc, NOT_FOUND):
        return {"type": "refused", "kind": "not_found", "message": _("This no longer exists, or is not yours to see.")}
    frame = {"type": "refused", "kind": kind_of(exc), "message": message_of(exc)}
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        frame["fields"] = {name: messages for name, messages in exc.message_dict.items() if name != NON_FIELD}
    if isinstance(exc, RateLimited):
        frame["retry_after"] = exc.retry_after
    return frame


def unavailable_frame() -> dict:
    """A socket write that could not run (the database is down, a fault): nothing was written; sent again with the
    same client id, a message or a comment is still written once."""
    return {"type": "refused", "kind": "unavailable", "retry_after": 2,
            "message": _("The service is briefly unavailable. Please try again in a few seconds.")}


def with_status(response: HttpResponse, exc) -> HttpResponse:
    """The refusal's status on `response`, and when to retry for a rate limit."""
    response.status_code = status_of(exc)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def htmx_flash(request, message: str, *, slot: str = "flash", level: str = "success", kind: str = "",
               fields=()) -> HttpResponse:
    """The one flash partial (live/flash.html) into `#slot`: a form's error slot, or the page's #flash. `fields`: the
    names of the fields a refusal is about (live.js marks those invalid, else the fields the slot describes)."""
    html = render_to_string("live/flash.html", {"message": message, "level": level, "kind": kind,
                                                 "fields": " ".join(fields)}, request=request)
    return reswap(retarget(HttpResponse(html), f"#{slot}"), "innerHTML")


def htmx_refusal(request, exc, *, slot: str = "flash") -> HttpResponse:
    """The htmx answer to a refusal: its message in the slot, with its status."""
    response = htmx_flash(request, message_of(exc), slot=slot, level="error", kind=kind_of(exc),
                          fields=fields_of(exc))
    return with_status(response, exc)


def rate_limited_page(request, exc: RateLimited) -> HttpResponse:
    """The no-JS answer to a rate limit without a form to show again: a page saying when to retry."""
    response = render(request, "live/rate_limited.html", {"message": exc.message, "retry_after": exc.retry_after})
    return with_status(response, exc)


def refusal(request, exc, *, slot: str = "flash", back: str | None = None) -> HttpResponse:
    """The answer to a refused write that has no form of its own to show again."""
    if request.htmx:
        return htmx_refusal(request, exc, slot=slot)
    if isinstance(exc, RateLimited):
        return rate_limited_page(request, exc)
    if isinstance(exc, PermissionDenied):
        raise exc  # Django's 403 page, which shows the service's message
    messages.error(request, message_of(exc))
    return redirect(back or safe_referer(request) or "/")


def safe_referer(request) -> str:
    return safe_next(request, request.headers.get("Referer", ""))


def safe_next(request, target: str | None) -> str:
    """`target` when a redirect may go there (a path or an http(s) URL of this site), else "". The one check of every
    `next`, `back` and Referer: a bare word ("-1", "home") is not a path, and redirect() would take it for a view
    name and answer 500 (NoReverseMatch)."""
    if target and target.startswith(("/", "http://", "https://")) and url_has_allowed_host_and_scheme(
            target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


def action(*, slot="flash", back=None, page=None, field_slots=None):
    """Decorate a write view: a refusal raised anywhere in it becomes the seam's answer.

    slot: id of the error slot htmx fills, formatted with the view's keyword arguments ("comment-{comment_pk}-errors"),
          or callable(request, **kwargs) giving it.
    field_slots: {field name: slot} for the fields of the form that have an error slot of their own: a
          ValidationError about such a field (and no other) goes there, so that only that field is marked invalid.
    back: callable(request, **kwargs) giving the URL a plain form goes back to after a ValidationError (default: the
          page it came from).
    page: callable(request, exc, **kwargs) rendering the form again for a plain post (the status is set here)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except REFUSALS as exc:
                metrics.refused(kind_of(exc))
                if page is not None and request.method == "POST" and not request.htmx:
                    return with_status(page(request, exc, *args, **kwargs), exc)
                where = slot(request, *args, **kwargs) if callable(slot) else slot.format(**kwargs)
                named = set(fields_of(exc))
                if field_slots and len(named) == 1 and next(iter(named)) in field_slots:
                    where = field_slots[next(iter(named))].format(**kwargs)
                return refusal(request, exc, slot=where,
                               back=back(request, *args, **kwargs) if back else None)

        return wrapper

    return decorate


# --- views that render a Django form again ---------------------------------------------------------------------------

def add_to_form(form, exc, field: str | None = None) -> None:
    """Put a refusal on the form: an error about a field under that field (Django ties it to the input with
    aria-invalid and aria-describedby), anything else above the form. `field`: the field a ValidationError without
    field names is about."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(field, exc.messages)
    else:
        form.add_error(None, message_of(exc))
    form.refusal = exc


def submit(form, write, field: str | None = None):
    """Run `write()` and return its result; on a refusal, put it on the form and return None."""
    try:
        return write()
    except REFUSALS as exc:
        metrics.refused(kind_of(exc))
        add_to_form(form, exc, field)
        return None


def form_page(request, template: str, context: dict) -> HttpResponse:
    """The form's page: 200 when first shown, 400 with its errors, or the refusal's status (403, 429 + Retry-After);
    a refusal of a form posted with htmx is answered like any other (in #flash)."""
    form = context["form"]
    refused = getattr(form, "refusal", None)
    if refused is not None and request.htmx:
        return htmx_refusal(request, refused)
    response = render(request, template, context, status=400 if form.errors else 200)
    return with_status(response, refused) if refused is not None else response

