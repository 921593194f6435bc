from django.urls import path

from opendata import views

app_name = "opendata"
urlpatterns = [
    path("", views.index, name="index"),
    path("my-name/", views.name_preference, name="name_preference"),
    path("<slug:name>.<str:fmt>", views.dataset, name="dataset"),
]
