from __future__ import annotations

from django.apps import AppConfig


def _custom_field_label(key: str) -> str | None:
    from rapport.contacts.models import CustomFieldDefinition

    return (
        CustomFieldDefinition.objects.filter(key=key)
        .order_by("target")
        .values_list("label", flat=True)
        .first()
    )


class ContactsConfig(AppConfig):
    name = "rapport.contacts"
    label = "contacts"

    def ready(self) -> None:
        from rapport.contacts.models import BulkJob
        from rapport.core import subjects
        from rapport.core.jobs import job_kind_register
        from rapport.core.labels import register_custom_label_source

        job_kind_register(
            BulkJob,
            running=BulkJob.Status.RUNNING,
            stopped=BulkJob.Status.FAILED,
            message="rapport.contacts.services.bulk.bulk_job_stopped_message",
        )

        # messages and history name custom fields by the labels people gave them
        register_custom_label_source(_custom_field_label)

        # the contact record, its details and history in privacy requests
        subjects.register_provider("contacts", "rapport.contacts.subject_data:PROVIDER")
