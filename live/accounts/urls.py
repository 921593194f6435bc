from django.contrib.auth import views as auth_views
from django.urls import path

from live.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("signup/", views.sign_up, name="signup"),
    path("profile/", views.edit_profile, name="edit_profile"),
    path("profile/delete/", views.erase_account, name="erase"),
    path("people/<str:nickname>/", views.profile, name="profile"),
    path("password/", views.PasswordChange.as_view(), name="password_change"),
    path("password-reset/", views.PasswordReset.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="accounts/password_reset_done.html"), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirm.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"), name="password_reset_complete"),
]
