from django.apps import AppConfig


class DuplicatesConfig(AppConfig):
    name = "rapport.duplicates"
    label = "duplicates"

    def ready(self) -> None:
        from rapport.core import subjects
        from rapport.core.jobs import job_kind_register
        from rapport.duplicates.models import DuplicateScan

        subjects.register_provider("duplicates", "rapport.duplicates.subject_data:PROVIDER")

        job_kind_register(
            DuplicateScan,
            running=DuplicateScan.Status.RUNNING,
            stopped=DuplicateScan.Status.FAILED,
            message="rapport.duplicates.services.scans.duplicates_scan_stopped_message",
        )
