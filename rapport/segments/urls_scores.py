from django.urls import path

from rapport.segments import views_scores

app_name = "scores"

urlpatterns = [
    path("scores/", views_scores.score_list, name="list"),
    path("scores/new/", views_scores.score_edit, name="new"),
    path("scores/<int:pk>/", views_scores.score_detail, name="detail"),
    path("scores/<int:pk>/edit/", views_scores.score_edit, name="edit"),
    path("scores/<int:pk>/refresh/", views_scores.score_refresh, name="refresh"),
    path("scores/<int:pk>/delete/", views_scores.score_delete, name="delete"),
]
