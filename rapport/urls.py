from django.urls import include, path

from rapport.api import api
from rapport.insights.views import home

urlpatterns = [
    path("", home, name="home"),
    path("api/v1/", api.urls),
    path("", include("rapport.access.urls")),
    path("", include("rapport.contacts.urls")),
    path("", include("rapport.ingest.urls")),
    path("", include("rapport.quality.urls")),
    path("", include("rapport.duplicates.urls")),
    path("", include("rapport.merges.urls")),
    path("", include("rapport.activity.urls")),
    path("", include("rapport.consent.urls")),
    path("", include("rapport.outreach.urls")),
    path("", include("rapport.privacy.urls")),
    path("", include("rapport.sync.urls")),
    path("", include("rapport.segments.urls")),
    path("", include("rapport.insights.urls")),
    path("", include("rapport.segments.urls_scores")),
]
