from django.urls import path

from rapport.activity.views import calendar, interactions, timeline

app_name = "activity"

urlpatterns = [
    path("activity/", interactions.activity_home, name="home"),
    path("interactions/<int:pk>/", interactions.interaction_detail, name="interaction"),
    path("interactions/<int:pk>/edit/", interactions.interaction_edit, name="interaction_edit"),
    path(
        "interactions/<int:pk>/delete/", interactions.interaction_delete, name="interaction_delete"
    ),
    path("attachments/<int:pk>/", interactions.attachment_download, name="attachment"),
    path("contacts/<int:pk>/timeline/", timeline.contact_timeline, name="contact_timeline"),
    path("contacts/<int:pk>/log/", timeline.contact_log, name="contact_log"),
    path(
        "organizations/<int:pk>/timeline/",
        timeline.organization_timeline,
        name="organization_timeline",
    ),
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
