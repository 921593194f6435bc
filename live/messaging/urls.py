from django.shortcuts import render
from django.urls import path

app_name = "messaging"
urlpatterns = [
    path("", lambda request: render(request, "base.html"), name="inbox"),
]
