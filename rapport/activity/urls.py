from django.urls import path

from rapport.activity.views import interactions, keep_in_touch, notifications, tasks

app_name = "activity"

urlpatterns = [
    path("interactions/<int:pk>/", interactions.interaction_detail, name="interaction"),
    path("activity/tasks/", tasks.task_list, name="tasks"),
    path("activity/tasks/new/", tasks.task_create, name="task_create"),
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
]
