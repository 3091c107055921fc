from django.urls import path

from rapport.activity.views import interactions, mailboxes

app_name = "activity"

urlpatterns = [
    path("interactions/<int:pk>/", interactions.interaction_detail, name="interaction"),
    path("mailboxes/", mailboxes.mailbox_list, name="mailboxes"),
    path("mailboxes/add/", mailboxes.mailbox_add, name="mailbox_add"),
    path("mailboxes/<int:pk>/", mailboxes.mailbox_detail, name="mailbox"),
    path("mailboxes/<int:pk>/edit/", mailboxes.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<int:pk>/delete/", mailboxes.mailbox_delete, name="mailbox_delete"),
    path("mailboxes/<int:pk>/sync/", mailboxes.mailbox_sync_now, name="mailbox_sync"),
]
