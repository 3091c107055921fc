from django.urls import path

from rapport.quality import views

app_name = "quality"

urlpatterns = [
    path("quality/", views.audit, name="audit"),
    path("quality/problems/<slug:problem>/", views.problem_contacts, name="problem"),
    path("quality/suggestions/", views.suggestion_list, name="suggestions"),
    path("quality/suggestions/decide/", views.suggestion_decide, name="suggestion_decide"),
    path("quality/suggestions/generate/", views.suggestion_generate, name="suggestion_generate"),
    path("quality/contacts/<int:pk>/confirm/", views.contact_confirm, name="contact_confirm"),
]
