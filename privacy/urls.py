from django.urls import path

from privacy import views

app_name = "privacy"
urlpatterns = [
    path("", views.policy, name="policy"),
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/export/", views.request_export, name="request_export"),
    path("exports/<str:token>/", views.download, name="download"),
]
