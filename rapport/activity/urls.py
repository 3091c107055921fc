from django.urls import path

from rapport.activity.views import interactions

app_name = "activity"

urlpatterns = [
    path("interactions/<int:pk>/", interactions.interaction_detail, name="interaction"),
]
