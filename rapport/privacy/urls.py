from django.urls import path

from rapport.privacy import views

app_name = "privacy"

urlpatterns = [
    path("privacy/", views.privacy_home, name="home"),
    path("contacts/<int:pk>/privacy/", views.contact_privacy, name="contact"),
    path("contacts/<int:pk>/privacy/export/", views.contact_export, name="contact_export"),
    path("contacts/<int:pk>/privacy/erase/", views.contact_erase, name="erase"),
    path("privacy/exports/<int:pk>/", views.export_detail, name="export"),
    path("privacy/exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("privacy/suppression/", views.suppression_page, name="suppression"),
    path("privacy/retention/", views.retention_list, name="retention"),
    path("privacy/retention/new/", views.retention_form, name="retention_new"),
    path("privacy/retention/<int:pk>/", views.retention_form, name="retention_edit"),
    path("privacy/retention/<int:pk>/delete/", views.retention_delete, name="retention_delete"),
    path("privacy/retention/<int:pk>/run/", views.retention_run, name="retention_run"),
    path("privacy/runs/<int:pk>/", views.run_detail, name="run"),
    path("privacy/records/", views.records_page, name="records"),
]
