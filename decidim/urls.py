from django.urls import path

from decidim import views

app_name = "decidim"
urlpatterns = [
    path("<slug:org>/login/", views.sign_in, name="login"),
    path("<slug:org>/login/callback/", views.callback, name="callback"),
    path("finish/", views.finish, name="finish"),
    path("link/", views.link, name="link"),
    path("cancel/", views.cancel, name="cancel"),
    path("picture/", views.picture, name="picture"),
    path("import-meeting/", views.import_meeting, name="import_meeting"),
    path("embed/debates/<int:pk>/", views.embed_debate, name="embed_debate"),
    path("embed/meetings/<int:pk>/", views.embed_meeting, name="embed_meeting"),
]
