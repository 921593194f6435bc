from django.urls import path

from meetings import views

app_name = "meetings"
urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("new/", views.meeting_create, name="create"),
    path("join/", views.join_by_code, name="join"),
    path("<int:pk>/", views.meeting_detail, name="detail"),
    path("<int:pk>/edit/", views.meeting_edit, name="edit"),
    path("<int:pk>/calendar.ics", views.meeting_ics, name="ics"),
    path("<int:pk>/register/", views.register, name="register"),
    path("<int:pk>/unregister/", views.unregister, name="unregister"),
    path("<int:pk>/report/", views.report_edit, name="report"),
    # Phones
    path("<int:pk>/live/", views.live, name="live"),
    path("<int:pk>/remote/", views.remote, name="remote"),
    path("<int:pk>/live/join/", views.live_join, name="live_join"),
    path("<int:pk>/live/contribute/", views.contribute, name="contribute"),
    path("<int:pk>/live/contributions/<int:cid>/vote/", views.vote, name="vote"),
    path("<int:pk>/live/polls/<int:poll>/answer/", views.answer, name="answer"),
    path("<int:pk>/live/hand/", views.hand, name="hand"),
    path("<int:pk>/live/react/", views.react, name="react"),
    # The projector
    path("<int:pk>/screen/", views.screen, name="screen_facilitator"),
    path("<int:pk>/screen/<str:token>/", views.screen, name="screen"),
    # Facilitators
    path("<int:pk>/console/", views.console, name="console"),
    path("<int:pk>/console/open/", views.session_open, name="session_open"),
    path("<int:pk>/console/close/", views.session_close, name="session_close"),
    path("<int:pk>/console/settings/", views.session_settings, name="session_settings"),
    path("<int:pk>/console/screen-token/", views.rotate_screen_token, name="rotate_screen_token"),
    path("<int:pk>/console/contributions/<int:cid>/", views.moderate, name="moderate"),
    path("<int:pk>/console/agenda/", views.current_item, name="current_item"),
    path("<int:pk>/console/polls/", views.poll_create, name="poll_create"),
    path("<int:pk>/console/polls/<int:poll>/", views.poll_action, name="poll_action"),
    path("<int:pk>/console/words/<int:entry>/", views.word_entry, name="word_entry"),
    path("<int:pk>/console/polls/<int:poll>/words/", views.word_action, name="word_action"),
    path("<int:pk>/console/speakers/<int:req>/", views.speaker_action, name="speaker_action"),
    path("<int:pk>/console/speakers/clear/", views.speakers_clear, name="speakers_clear"),
    path("<int:pk>/console/publish-debate/", views.publish_debate, name="publish_debate"),
    path("<int:pk>/export/contributions.csv", views.export_contributions_csv, name="export_csv"),
    path("<int:pk>/export/polls.csv", views.export_polls_csv, name="export_polls_csv"),
    path("<int:pk>/export/reactions.csv", views.export_reactions_csv, name="export_reactions_csv"),
    path("<int:pk>/export/meeting.json", views.export_json, name="export_json"),
]
