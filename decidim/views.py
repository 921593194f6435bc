"""Sign in with Decidim: allauth runs the OAuth exchange (login, callback), then these views finish it with our
own accounts: sign in a linked account, create one (nickname kept when free, else a suggestion), or link an
existing account with the same address once its password has been given. Every failure is a page that says
what happened, in French and English, and leaves nothing behind."""

import logging
import time

import requests
from allauth.socialaccount.providers.base import AuthError
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from decidim import organizations, selectors, services
from decidim.forms import ImportMeetingForm, LinkForm, NicknameForm
from decidim.oauth import DecidimOAuth2Adapter
from live import actions, ratelimit
from live.accounts import services as accounts
from live.accounts.views import client_ip, sign_in_throttle_keys
from live.middleware import content_security_policy

logger = logging.getLogger(__name__)
User = get_user_model()

PENDING = "decidim_pending"          # session: a checked Decidim profile waiting for a nickname or a password
SIGNED_IN_WITH = "decidim_signed_in_with"  # session: the organization signed in with (for the sign-out notice)
PENDING_SECONDS = 600
BACKEND = "live.accounts.backends.EmailOrNicknameBackend"


def _organization_or_404(key: str) -> organizations.Organization:
    organization = organizations.organization(key)
    if organization is None:
        raise Http404("No such Decidim organization is configured.")
    return organization


def sign_in(request, org):
    """GET: a page with the button (allauth never starts an OAuth exchange on a GET); POST: off to Decidim."""
    organization = _organization_or_404(org)
    return OAuth2LoginView.adapter_view(DecidimOAuth2Adapter(request, organization.provider_id))(request)


def callback(request, org):
    organization = _organization_or_404(org)
    return OAuth2CallbackView.adapter_view(DecidimOAuth2Adapter(request, organization.provider_id))(request)


def signed_in_with_decidim(request, sociallogin):
    """allauth checked the state, exchanged the code and read a valid profile: sign in, or ask what is missing."""
    organization = organizations.organization(sociallogin.account.provider)
    profile = sociallogin.account.extra_data
    next_url = _safe_next(request, sociallogin.state.get("next"))
    if sociallogin.account.pk:  # this Decidim account is linked here (found by organization and id, never by address)
        return _sign_in(request, sociallogin.account.user, organization, next_url)
    if not services.email_is_usable(profile["email"]):  # an account here could not have it: say which and why
        return _error(request, "email", organization, email=profile["email"])
    request.session[PENDING] = {"org": organization.key, "profile": profile, "next": next_url, "at": time.time()}
    if profile["email"] and User.objects.filter(email__iexact=profile["email"]).exists():
        return redirect("decidim:link")
    if selectors.nickname_is_free(profile["nickname"]):
        try:
            user = services.sign_up_with_decidim(organization=organization, profile=profile,
                                                  nickname=profile["nickname"], ip=client_ip(request))
        except ValidationError:  # taken in the same instant: the nickname page says so
            return redirect("decidim:finish")
        return _sign_in(request, user, organization, next_url, created=True)
    return redirect("decidim:finish")


def finish(request):
    """First sign-in whose Decidim nickname is taken here (or not valid here): choose one, a free one suggested."""
    pending = _pending(request)
    if pending is None:
        return _expired(request)
    organization, profile = pending
    if profile["email"] and User.objects.filter(email__iexact=profile["email"]).exists():
        return redirect("decidim:link")
    suggestion = selectors.suggest_nickname(profile["nickname"], profile["name"])
    form = NicknameForm(request.POST or None, initial={"nickname": suggestion}, picture=profile["image"])
    if request.method == "POST" and form.is_valid():
        user = actions.submit(form, lambda: services.sign_up_with_decidim(
            organization=organization, profile=profile, nickname=form.cleaned_data["nickname"],
            ip=client_ip(request), show_picture=form.cleaned_data.get("show_picture", False)))
        if user:
            return _sign_in(request, user, organization, request.session[PENDING]["next"], created=True)
    return actions.form_page(request, "decidim/finish.html",
                             {"form": form, "organization": organization, "profile": profile,
                              "suggestion": suggestion})


def link(request):
    """An account here already uses the Decidim account's address: link them only once the person has given
    this account's password (never silently: the address alone proves nothing here)."""
    pending = _pending(request)
    if pending is None:
        return _expired(request)
    organization, profile = pending
    user = User.objects.filter(email__iexact=profile["email"]).first() if profile["email"] else None
    if user is None:
        return redirect("decidim:finish")
    form = LinkForm(request.POST or None, picture=profile["image"])
    context = {"form": form, "organization": organization, "profile": profile, "email": user.email,
               "has_password": user.has_usable_password()}
    if request.method == "POST":
        keys = sign_in_throttle_keys(request, user.email)
        wait = max(ratelimit.blocked_for(action, who) for action, who in keys)
        if wait:
            exc = ratelimit.RateLimited(wait, "login")
            return actions.with_status(render(request, "decidim/link.html",
                                              {**context, "form": LinkForm(picture=profile["image"]),
                                               "throttled": exc.message}), exc)
        if form.is_valid():
            if user.has_usable_password() and user.check_password(form.cleaned_data["password"]):
                if user.is_blocked or not user.is_active:
                    return _error(request, "blocked", organization)
                if actions.submit(form, lambda: services.link_decidim_account(
                        user=user, organization=organization, profile=profile,
                        show_picture=form.cleaned_data.get("show_picture", False))):
                    messages.info(request, _("Your Decidim account is now linked to this account."))
                    return _sign_in(request, user, organization, request.session[PENDING]["next"])
            else:
                for action, who in keys:
                    ratelimit.hit(action, who)
                form.add_error("password", _("This is not the password of this account. Check it and try again."))
    return actions.form_page(request, "decidim/link.html", context)


@require_POST
@login_required
@actions.action(back=lambda request: request.user.get_absolute_url())
def picture(request):
    """Show ("1") or stop showing ("0": the form's two buttons) one's Decidim picture on one's profile; any other
    value is refused and changes nothing."""
    shown = request.POST.get("shown")
    if shown not in ("0", "1"):
        raise ValidationError({"shown": _("Choose to show your Decidim picture or to stop showing it.")})
    services.show_decidim_picture(user=request.user, shown=shown == "1")
    return redirect(request.user)


@require_POST
def cancel(request):
    request.session.pop(PENDING, None)
    messages.info(request, _("Sign-in with Decidim cancelled. Nothing was created."))
    return redirect("accounts:login")


def sign_in_failed(request, provider, *, error, exception, extra_context):
    """Every way the exchange can fail, told apart for the person: they refused, the state does not match (an
    answer to a sign-in this browser did not start), Decidim is down or slow, or it answered nonsense."""
    organization = organizations.organization(provider.app.provider_id)
    if error == AuthError.CANCELLED:
        reason = "cancelled"
    elif "state_id" in extra_context:
        reason = "state"
    elif isinstance(exception, requests.Timeout):
        reason = "slow"
    elif isinstance(exception, requests.ConnectionError):
        reason = "down"
    elif exception is not None:
        reason = "garbage"
    else:
        reason = "refused"
    logger.warning("Decidim sign-in failed with %s: %s %r", organization.key, reason,
                   exception or request.GET.get("error", ""))
    return _error(request, reason, organization, code=request.GET.get("error", "")[:50])


ERRORS = {
    # reason: (HTTP status, title, text)
    "cancelled": (400, lambda: _("You did not allow Agora Live to use your %(org)s account"),
                  lambda: _("Nothing was created. You can try again, or sign in with an Agora Live account.")),
    "state": (400, lambda: _("This sign-in answer does not match a sign-in started here"),
              lambda: _("The answer from %(org)s does not belong to a sign-in started in this browser, or it "
                        "expired. To protect your account nothing was done: start again from this site.")),
    "slow": (504, lambda: _("%(org)s is not answering"),
             lambda: _("%(org)s took too long to answer. Nothing was created: try again in a few minutes.")),
    "down": (502, lambda: _("%(org)s cannot be reached"),
             lambda: _("%(org)s cannot be reached right now. Nothing was created: try again in a few minutes.")),
    "garbage": (502, lambda: _("%(org)s sent an answer we cannot read"),
                lambda: _("%(org)s answered, but not with what a sign-in needs. Nothing was created: try again "
                          "later, and tell the city's team if it goes on.")),
    "refused": (400, lambda: _("%(org)s refused the sign-in"),
                lambda: _("%(org)s did not let this sign-in through. Nothing was created: try again, and tell the "
                          "city's team if it goes on.")),
    "email": (400, lambda: _("%(org)s sent an address we cannot use: %(email)s"),
              lambda: _("An Agora Live account needs a valid e-mail address, and this one is not. Nothing was "
                        "created. Correct it in your account on %(org)s (its settings), then sign in with %(org)s "
                        "again; or create an Agora Live account with a password.")),
    "blocked": (403, lambda: _("Your account has been blocked by moderation."),
                lambda: _("You cannot sign in to Agora Live with it, with or without %(org)s.")),
}


def _error(request, reason: str, organization, code: str = "", email: str = ""):
    status, title, text = ERRORS[reason]
    names = {"org": organization.name, "email": email}
    return render(request, "decidim/sign_in_error.html",
                  {"reason": reason, "title": title() % names, "text": text() % names, "code": code,
                   "organization": organization}, status=status)


def _sign_in(request, user, organization, next_url: str, created: bool = False):
    if user.is_blocked or not user.is_active:
        request.session.pop(PENDING, None)
        return _error(request, "blocked", organization)
    login(request, user, backend=BACKEND)
    accounts.signed_in(session=request.session, user=user)
    request.session.pop(PENDING, None)
    request.session[SIGNED_IN_WITH] = organization.key
    if created:
        messages.success(request, _("Welcome, %(name)s! Your account is ready.") % {"name": user.nickname})
    else:
        messages.success(request, _("You are signed in with your %(org)s account.") % {"org": organization.name})
    return redirect(next_url)


def _pending(request):
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    organization = organizations.organization(pending["org"])
    return (organization, pending["profile"]) if organization else None


def _expired(request):
    request.session.pop(PENDING, None)
    messages.error(request, _("This sign-in with Decidim has expired or was not started. Please start again."))
    return redirect("accounts:login")


def _safe_next(request, url) -> str:
    return actions.safe_next(request, url) or reverse("home")


def sign_out_notice(request) -> str | None:
    """What to tell someone who signs out after signing in with Decidim: they are still signed in there."""
    organization = organizations.organization(request.session.get(SIGNED_IN_WITH, ""))
    if organization is None:
        return None
    return _("You are signed out of Agora Live only: you are still signed in to %(org)s. On a shared computer, "
             "sign out there too (%(url)s).") % {"org": organization.name, "url": organization.url}


@login_required
def import_meeting(request):
    """A facilitator pastes the address of a meeting published on Decidim; the Agora meeting is opened from it."""
    from meetings.services import ensure_can_create_meeting

    ensure_can_create_meeting(request.user)
    if not organizations.organizations():
        raise Http404("No Decidim organization is configured.")
    form = ImportMeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        meeting = actions.submit(form, lambda: services.import_meeting(actor=request.user, url=form.cleaned_data["url"]),
                                 field="url")
        if meeting:
            messages.success(request, _("The meeting is imported from Decidim. Check it, and add its agenda and "
                                        "facilitators."))
            return redirect(meeting)
    return actions.form_page(request, "decidim/import_meeting.html", {"form": form})


# --- embeds --------------------------------------------------------------------------------------------------------

def _embedded(view, request, full_url: str, *args):
    """`view`'s page made embeddable in the configured Decidim pages: their origins alone may frame it (CSP
    frame-ancestors; X-Frame-Options is left out, as it cannot name them), its links open Agora Live in a new tab.
    The session cookie stays SameSite=Lax: in a Decidim page of the same site (a sibling subdomain) it comes along
    and a signed-in resident takes part in the frame; from another site it does not, so the frame is read-only and
    live, and "Take part" opens the full page."""
    if not settings.CSP_FRAME_ANCESTORS:
        raise Http404("No Decidim organization is configured: nothing may embed this page.")
    request.embedded, request.embed_full_url, request.embed_parents = True, full_url, settings.CSP_FRAME_ANCESTORS
    # Framed by another site, the page offers no form (decidim/embed-cross-site.css): none could work there. A
    # browser that does not say (no Sec-Fetch-Site) gets the forms, as a same-site page does.
    request.embed_cross_site = request.headers.get("Sec-Fetch-Site") == "cross-site"
    response = view(request, *args)
    patch_vary_headers(response, ["Sec-Fetch-Site"])
    response.xframe_options_exempt = True
    response["Content-Security-Policy"] = content_security_policy(request, frame_ancestors=settings.CSP_FRAME_ANCESTORS)
    return response


def embed_debate(request, pk):
    from debates.views import debate_detail

    return _embedded(debate_detail, request, reverse("debates:detail", args=[pk]), pk)


def embed_meeting(request, pk):
    from meetings.views import live

    return _embedded(live, request, reverse("meetings:live", args=[pk]), pk)
