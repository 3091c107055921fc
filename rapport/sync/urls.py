from django.urls import path, re_path

from rapport.sync import dav, views

app_name = "sync"

# With or without a trailing slash, whatever the method: no redirect a DAV client would
# have to follow with its body (APPEND_SLASH only acts on paths that match nothing).
urlpatterns = [
    re_path(r"^\.well-known/carddav/?$", dav.well_known, name="well_known"),
    re_path(r"^dav(?P<path>/.*)?$", dav.dav, name="dav"),
    path("address-books/", views.home, name="home"),
    path("address-books/conflicts/<int:pk>/", views.conflict_resolve, name="conflict_resolve"),
    path("address-books/new/", views.book_add, name="book_add"),
    path("address-books/<int:pk>/remove/", views.book_remove, name="book_remove"),
]
