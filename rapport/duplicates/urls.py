from django.urls import path

from rapport.duplicates import views

app_name = "duplicates"

urlpatterns = [
    path("duplicates/", views.queue, name="queue"),
    path("duplicates/scan/", views.scan_start, name="scan_start"),
    path("duplicates/model/", views.match_model, name="model"),
    path("duplicates/scans/<int:pk>/status/", views.scan_status, name="scan_status"),
    path("duplicates/<int:pk>/", views.cluster, name="cluster"),
    path("duplicates/<int:pk>/dismiss/", views.cluster_dismiss, name="cluster_dismiss"),
    path("duplicates/<int:pk>/skip/", views.cluster_skip, name="cluster_skip"),
    path("duplicates/<int:pk>/next/", views.cluster_next, name="cluster_next"),
]
