from django.urls import path

from live.moderation import views

app_name = "moderation"
urlpatterns = [
    path("", views.queue_page, name="queue"),
    path("report/", views.report, name="report"),
    path("act/", views.act, name="act"),
    path("spaces/<str:space>/", views.space_page, name="space"),
    path("people/<int:pk>/", views.user_page, name="user"),
    path("log/", views.log_page, name="log"),
    path("mine/", views.mine, name="mine"),
    path("transparency/", views.transparency, name="transparency"),
]
