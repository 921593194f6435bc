from django.urls import path

from live.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.new_conversation, name="new"),
    path("settings/", views.settings_view, name="settings"),
    path("block/", views.block, name="block"),
    path("unblock/", views.unblock, name="unblock"),
    path("export/", views.export, name="export"),
    path("search/", views.search, name="search"),
    path("<int:pk>/", views.conversation_detail, name="conversation"),
    path("<int:pk>/send/", views.send, name="send"),
    path("<int:pk>/read/", views.read, name="read"),
    path("<int:pk>/leave/", views.leave, name="leave"),
    path("<int:pk>/add/", views.add_people, name="add"),
    path("<int:pk>/report/<int:message_id>/", views.report, name="report"),
]
