from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from live import ratelimit
from live.accounts import services
from live.accounts.forms import ProfileForm, SignInForm, SignUpForm

User = get_user_model()


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


class SignInView(auth_views.LoginView):
    """Sign-in, throttled per IP and per account name against password guessing."""

    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        name = (request.POST.get("username") or "").strip().lower()[:254]
        try:
            ratelimit.enforce("login", f"ip:{client_ip(request)}")
            ratelimit.enforce("login", f"name:{name}")
        except ratelimit.RateLimited as exc:
            form = self.get_form()
            form.is_valid()
            form.errors.clear()
            form.add_error(None, exc.message)
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)


@require_POST
def sign_out(request):
    if request.user.is_authenticated:
        services.end_session(user=request.user, session_key=request.session.session_key)
    logout(request)
    messages.success(request, _("You are signed out."))
    return redirect("home")


def sign_up(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_up(ip=client_ip(request), **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            login(request, user, backend="live.accounts.backends.EmailOrNicknameBackend")
            messages.success(request, _("Welcome, %(name)s! Your account is ready.") % {"name": user.nickname})
            next_url = request.GET.get("next", "")
            if url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                return redirect(next_url)
            return redirect("home")
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)


def profile(request, nickname):
    person = get_object_or_404(User, nickname=nickname, is_active=True)
    return render(request, "accounts/profile.html", {"person": person})


@login_required
def edit_profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        ratelimit.enforce("default", request.user)
        form.save()
        messages.success(request, _("Your profile is saved."))
        return redirect(request.user.get_absolute_url())
    return render(request, "accounts/profile_edit.html", {"form": form}, status=400 if form.errors else 200)


class PasswordReset(auth_views.PasswordResetView):
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
