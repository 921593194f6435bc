from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import NON_FIELD_ERRORS
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from live import actions, features, ratelimit
from live.accounts import services
from live.accounts.backends import account_named
from live.accounts.forms import EraseAccountForm, ProfileForm, ResetForm, SignInForm, SignUpForm

User = get_user_model()


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


class SignInView(auth_views.LoginView):
    """Sign-in, throttled against password guessing without handing anyone a way to lock others out: failed
    attempts count per (account, IP), per account and per IP (live/ratelimit.py, the login* limits). Once one of
    them is over its quota, every attempt it covers is refused with a 429 (even with the right password) until the
    window ends: guessing alice's password from one address does not stop alice signing in from hers. Successful
    sign-ins count nothing, so a room of people on one wifi can all sign in; a password reset clears the account's
    counters."""

    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def throttle_keys(self):
        return sign_in_throttle_keys(self.request, self.request.POST.get("username") or "")

    def post(self, request, *args, **kwargs):
        wait = max(ratelimit.blocked_for(action, who) for action, who in self.throttle_keys())
        if wait:
            return self.refuse(ratelimit.RateLimited(wait, "login"))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        services.signed_in(session=self.request.session, user=self.request.user)
        return response

    def form_invalid(self, form):
        if form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            for action, who in self.throttle_keys():
                ratelimit.hit(action, who)
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def refuse(self, exc):
        # An unbound form: binding it would run authenticate(), the very password check being throttled.
        form = self.get_form_class()(self.request, initial={"username": self.request.POST.get("username", "")})
        return actions.with_status(self.render_to_response(self.get_context_data(form=form, throttled=exc.message)),
                                   exc)


def sign_in_throttle_keys(request, username: str) -> list[tuple[str, str]]:
    """The counters a password check for `username` goes through (the sign-in form, and the password that links a
    Decidim account: decidim/views.py)."""
    account = throttle_account(username)
    ip = client_ip(request)
    return [("login", f"{account}|ip:{ip}"), ("login_account", account), ("login_ip", f"ip:{ip}")]


def throttle_account(username: str) -> str:
    """The sign-in throttle's key for an account, whichever of its names (e-mail or nickname, any case) is typed;
    a name no account has is counted as typed."""
    name = username.strip()[:254]
    user = account_named(name) if name else None
    return f"user:{user.pk}" if user is not None else f"name:{name.lower()}"


@require_POST
def sign_out(request):
    notices = features.sign_out_notices(request)  # read before logout() empties the session
    if request.user.is_authenticated:
        services.end_sessions(user=request.user, only=request.session.session_key, reason="signed_out",
                              detail="You signed out.")
    logout(request)
    messages.success(request, _("You are signed out."))
    for notice in notices:
        messages.info(request, notice)
    return redirect("home")


def sign_up(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = actions.submit(form, lambda: services.sign_up(ip=client_ip(request), **form.cleaned_data))
        if user:
            login(request, user, backend="live.accounts.backends.EmailOrNicknameBackend")
            services.signed_in(session=request.session, user=user)
            messages.success(request, _("Welcome, %(name)s! Your account is ready.") % {"name": user.nickname})
            return redirect(actions.safe_next(request, request.GET.get("next")) or "home")
    return actions.form_page(request, "accounts/signup.html", {"form": form})


def profile(request, nickname):
    person = get_object_or_404(User.objects.named(nickname), is_active=True)
    if person.nickname != nickname:
        return redirect(person)
    return render(request, "accounts/profile.html", {"person": person, "is_self": person == request.user})


@login_required
def edit_profile(request):
    # A copy of the account: an invalid form must not leak its values into request.user (the header shows it).
    form = ProfileForm(request.POST or None, instance=User.objects.get(pk=request.user.pk))
    if request.method == "POST" and form.is_valid():
        user = actions.submit(form, lambda: services.update_profile(user=request.user, **form.cleaned_data))
        if user:
            messages.success(request, _("Your profile is saved."))
            return redirect(user)
    return actions.form_page(request, "accounts/profile_edit.html", {"form": form})


def erase_account(request):
    """"Supprimer mon compte": the confirmation page, and the erasure once confirmed."""
    if not request.user.is_authenticated:
        # A second click on a form already sent, or a page left open: the account is no longer signed in here.
        if request.method == "POST":
            messages.info(request, _("No account is signed in in this browser: nothing was deleted."))
        return redirect_to_login(request.get_full_path())
    user = request.user
    form = EraseAccountForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        erased = actions.submit(form, lambda: services.erase_account(
            user=user, password=form.cleaned_data.get("password")), field="password")
        if erased:
            logout(request)
            messages.success(request, _("Your account is deleted. What you wrote stays in place, without your name."))
            return redirect("home")
    return actions.form_page(request, "accounts/erase.html", {"form": form})


class PasswordChange(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"

    def post(self, request, *args, **kwargs):
        # Each try checks the current password: a session left open (or stolen) must not become a way to guess it.
        ratelimit.enforce("password_change", request.user)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        before = self.request.session.session_key
        response = super().form_valid(form)  # saves; renews this session's key (update_session_auth_hash)
        services.end_sessions(user=form.user, reason="password_changed", keep=(before, self.request.session.session_key),
                              detail="Your password was changed; sign in again.")
        messages.success(self.request, _("Your new password is saved."))
        return response

    def get_success_url(self):
        return self.request.user.get_absolute_url()


class PasswordReset(auth_views.PasswordResetView):
    form_class = ResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        ratelimit.enforce("signup", f"reset:{client_ip(self.request)}")
        return super().form_valid(form)


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        first_password = not form.user.has_usable_password()
        response = super().form_valid(form)
        if first_password:
            for step in features.first_password_steps():
                step(user=form.user)
        services.end_sessions(user=form.user, reason="password_changed",
                              detail="Your password was changed; sign in again.")
        # Whoever was guessing the old password, the owner signs in with the new one at once.
        ratelimit.reset("login_account", f"user:{form.user.pk}")
        ratelimit.reset("login", f"user:{form.user.pk}|ip:{client_ip(self.request)}")
        return response
