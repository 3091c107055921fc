from django.urls import path, re_path

from rapport.merges import views

app_name = "merges"

urlpatterns = [
    path("merges/", views.merge_list, name="list"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="undo"),
    re_path(
        r"^merges/(?P<kind_path>contacts|organizations)/new/$", views.merge_start, name="start"
    ),
    re_path(r"^merges/(?P<kind_path>contacts|organizations)/$", views.merge_do, name="merge"),
]
