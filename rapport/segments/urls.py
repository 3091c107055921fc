from django.urls import path

from rapport.segments import views, views_order_import

app_name = "segments"

urlpatterns = [
    path("segments/", views.segment_list, name="list"),
    path("segments/new/", views.segment_edit, name="new"),
    path("segments/preview/", views.segment_preview, name="preview"),
    path("segments/parse/", views.segment_parse, name="parse"),
    path("segments/<int:pk>/", views.segment_detail, name="detail"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="edit"),
    path("segments/<int:pk>/delete/", views.segment_delete, name="delete"),
    path("segments/<int:pk>/count/", views.segment_count, name="count"),
    path("segments/<int:pk>/bulk/", views.segment_bulk, name="bulk"),
    path("segments/<int:pk>/export/", views.segment_export, name="export"),
    path("segments/<int:pk>/why/<int:contact_id>/", views.segment_why, name="why"),
    path("lists/new/", views.list_new, name="list_new"),
    path("orders/import/", views_order_import.order_imports, name="order_imports"),
    path("orders/import/<int:pk>/", views_order_import.order_import, name="order_import"),
    path(
        "orders/import/<int:pk>/undo/",
        views_order_import.order_import_undo,
        name="order_import_undo",
    ),
    path("lists/add/", views.list_add_selection, name="list_add"),
    path("lists/<int:pk>/", views.list_detail, name="list_detail"),
    path("lists/<int:pk>/delete/", views.list_delete, name="list_delete"),
]
