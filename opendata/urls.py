from django.urls import path

from opendata import views

app_name = "opendata"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:name>.<str:fmt>", views.dataset, name="dataset"),
]
