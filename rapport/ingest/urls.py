from django.urls import path

from rapport.ingest import export_views, views

app_name = "ingest"

urlpatterns = [
    path("contacts/export/", export_views.contact_export, name="contact_export"),
    path(
        "organizations/export/",
        export_views.organization_export,
        name="organization_export",
    ),
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/status/", views.import_status, name="import_status"),
    path("imports/<int:pk>/check/", views.import_check, name="import_check"),
    path("imports/<int:pk>/resume/", views.import_resume, name="import_resume"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import_undo"),
    path("imports/<int:pk>/failed-rows.csv", views.import_failed_rows, name="import_failed_rows"),
]
