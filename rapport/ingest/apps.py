from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "rapport.ingest"
    label = "ingest"

    def ready(self) -> None:
        from rapport.core import subjects
        from rapport.core.jobs import job_kind_register
        from rapport.ingest.models import ImportBatch

        # rows of stored import files in privacy requests
        subjects.register_provider("ingest", "rapport.ingest.subject_data:PROVIDER")

        job_kind_register(
            ImportBatch,
            running=ImportBatch.Status.RUNNING,
            stopped=ImportBatch.Status.INTERRUPTED,
            message="rapport.ingest.services.import_stopped_message",
        )
