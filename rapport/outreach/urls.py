from django.urls import path

from rapport.outreach.views import bulk, preferences, public, rules

app_name = "outreach"

urlpatterns = [
    path(
        "contacts/<int:pk>/preferences/",
        preferences.contact_preferences,
        name="contact_preferences",
    ),
    path("contacts/<int:pk>/attempts/", preferences.contact_attempt, name="contact_attempt"),
    path(
        "organizations/<int:pk>/preferences/",
        preferences.organization_preferences,
        name="organization_preferences",
    ),
    path("settings/calling-rules/", rules.rule_list, name="rules"),
    path("outreach/bulk/new/", bulk.bulk_new, name="bulk_new"),
    path("outreach/bulk/<int:pk>/", bulk.bulk_send, name="bulk_send"),
    path("outreach/bulk/<int:pk>/results.csv", bulk.bulk_send_csv, name="bulk_send_csv"),
    # public: no sign-in (see rapport.access.middleware); the signed token is the key
    path("public/u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("public/p/<str:token>/", public.preferences, name="public_preferences"),
    path("settings/calling-rules/new/", rules.rule_edit, name="rule_create"),
    path("settings/calling-rules/<int:pk>/", rules.rule_edit, name="rule_edit"),
    path("settings/calling-rules/<int:pk>/delete/", rules.rule_delete, name="rule_delete"),
]
