from django.urls import path

from rapport.activity.views import interactions, mail

app_name = "activity"

urlpatterns = [
    path("interactions/<int:pk>/", interactions.interaction_detail, name="interaction"),
    path("mail/import/", mail.mail_import, name="mail_import"),
    path("mail/imports/<int:pk>/", mail.mail_import_detail, name="mail_import_detail"),
    path("mail/never-log/", mail.never_log, name="never_log"),
    path("mail/correspondents/", mail.correspondent_list, name="correspondents"),
    path(
        "mail/correspondents/<int:pk>/create/",
        mail.correspondent_create,
        name="correspondent_create",
    ),
    path(
        "mail/correspondents/<int:pk>/dismiss/",
        mail.correspondent_dismiss,
        name="correspondent_dismiss",
    ),
]
