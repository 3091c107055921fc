from django.urls import include, path

urlpatterns = [
    path("", include("rapport.access.urls")),
    path("", include("rapport.contacts.urls")),
]
