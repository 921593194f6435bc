from django.urls import path

from debates import views

app_name = "debates"
urlpatterns = [
    path("", views.debate_list, name="list"),
    path("new/", views.debate_create, name="create"),
    path("<int:pk>/", views.debate_detail, name="detail"),
    path("<int:pk>/edit/", views.debate_edit, name="edit"),
    path("<int:pk>/close/", views.debate_close, name="close"),
    path("<int:pk>/reopen/", views.debate_reopen, name="reopen"),
    path("<int:pk>/lock/", views.debate_lock, name="lock"),
    path("<int:pk>/updates/", views.debate_post_update, name="post_update"),
    path("<int:pk>/comments/", views.comment_create, name="comment_create"),
    path("<int:pk>/comments/<int:comment_pk>/", views.comment_detail, name="comment"),
    path("<int:pk>/comments/<int:comment_pk>/replies/", views.comment_replies, name="replies"),
    path("<int:pk>/comments/<int:comment_pk>/reply/", views.comment_reply, name="reply"),
    path("<int:pk>/comments/<int:comment_pk>/report/", views.comment_report, name="report"),
    path("<int:pk>/comments/<int:comment_pk>/edit/", views.comment_edit, name="comment_edit"),
    path("<int:pk>/comments/<int:comment_pk>/delete/", views.comment_delete, name="comment_delete"),
    path("<int:pk>/comments/<int:comment_pk>/vote/", views.comment_vote, name="vote"),
]
