from django.urls import path

from rapport.activity.views import calendar, interactions

app_name = "activity"

urlpatterns = [
    path("interactions/<int:pk>/", interactions.interaction_detail, name="interaction"),
    path("activity/calendar/", calendar.calendar_home, name="calendar"),
    path("activity/calendar/subscribe", calendar.subscription_create, name="calendar_subscribe"),
    path(
        "activity/calendar/subscriptions/<int:pk>/",
        calendar.subscription_detail,
        name="calendar_subscription",
    ),
    path(
        "activity/calendar/subscriptions/<int:pk>/refresh",
        calendar.subscription_refresh,
        name="calendar_subscription_refresh",
    ),
    path(
        "activity/calendar/subscriptions/<int:pk>/delete",
        calendar.subscription_delete,
        name="calendar_subscription_delete",
    ),
]
