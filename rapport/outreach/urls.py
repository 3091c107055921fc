from django.urls import path

from rapport.outreach.views import bulk, compose, preferences, public, rules, templates

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
    path("contacts/<int:pk>/compose/", compose.compose, name="compose"),
    path("contacts/<int:pk>/compose/verdict/", compose.compose_verdict, name="compose_verdict"),
    path("contacts/<int:pk>/reach/<str:channel>/<int:phone>/", compose.reach, name="reach"),
    path("settings/message-templates/", templates.template_list, name="templates"),
    path("settings/message-templates/new/", templates.template_edit, name="template_create"),
    path("settings/message-templates/<int:pk>/", templates.template_edit, name="template_edit"),
    path(
        "settings/message-templates/<int:pk>/delete/",
        templates.template_delete,
        name="template_delete",
    ),
    path("settings/calling-rules/", rules.rule_list, name="rules"),
    path("outreach/bulk/", bulk.bulk_list, name="bulk_list"),
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
