from django.urls import path

from rapport.insights import views

app_name = "insights"

urlpatterns = [
    path("insights/", views.dashboard, name="dashboard"),
    path("insights/kpis/", views.kpi_list, name="kpis"),
    path("insights/kpis/new/", views.kpi_edit, name="kpi_new"),
    path("insights/kpis/<int:pk>/edit/", views.kpi_edit, name="kpi_edit"),
    path("insights/kpis/<int:pk>/delete/", views.kpi_delete, name="kpi_delete"),
    path("insights/summary/", views.summary, name="summary"),
    path("insights/drill/<slug:metric>/", views.drill, name="drill"),
    path("insights/<slug:name>/", views.report, name="report"),
]
