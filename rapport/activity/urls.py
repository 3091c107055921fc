from django.urls import path

from rapport.activity.views import (
    calendar,
    interactions,
    keep_in_touch,
    mail,
    mailboxes,
    notifications,
    tasks,
    timeline,
)

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
    path("activity/tasks/", tasks.task_list, name="tasks"),
    path("activity/tasks/new/", tasks.task_create, name="task_create"),
    path("activity/tasks/related/", tasks.task_related_lookup, name="task_related_lookup"),
    path("activity/tasks/related/chip/", tasks.task_related_chip, name="task_related_chip"),
    path("activity/tasks/<int:pk>/", tasks.task_edit, name="task_edit"),
    path("activity/tasks/<int:pk>/complete/", tasks.task_complete, name="task_complete"),
    path("activity/tasks/<int:pk>/reopen/", tasks.task_reopen, name="task_reopen"),
    path("activity/tasks/<int:pk>/delete/", tasks.task_delete, name="task_delete"),
    path("activity/reach-out/", keep_in_touch.reach_out, name="reach_out"),
    path("activity/keep-in-touch/", keep_in_touch.keep_in_touch, name="keep_in_touch"),
    path(
        "activity/keep-in-touch/<int:pk>/remove/",
        keep_in_touch.keep_in_touch_remove,
        name="keep_in_touch_remove",
    ),
    path("activity/notifications/", notifications.notification_list, name="notifications"),
    path(
        "activity/notifications/read/", notifications.notifications_read, name="notifications_read"
    ),
    path(
        "activity/notifications/<int:pk>/",
        notifications.notification_open,
        name="notification_open",
    ),
    path("mailboxes/", mailboxes.mailbox_list, name="mailboxes"),
    path("mailboxes/add/", mailboxes.mailbox_add, name="mailbox_add"),
    path("mailboxes/<int:pk>/", mailboxes.mailbox_detail, name="mailbox"),
    path("mailboxes/<int:pk>/edit/", mailboxes.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<int:pk>/delete/", mailboxes.mailbox_delete, name="mailbox_delete"),
    path("mailboxes/<int:pk>/sync/", mailboxes.mailbox_sync_now, name="mailbox_sync"),
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
