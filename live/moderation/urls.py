from django.shortcuts import render
from django.urls import path

app_name = "moderation"
urlpatterns = [
    path("", lambda request: render(request, "base.html"), name="queue"),
    path("transparency/", lambda request: render(request, "base.html"), name="transparency"),
]
