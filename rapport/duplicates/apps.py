from django.apps import AppConfig


class DuplicatesConfig(AppConfig):
    name = "rapport.duplicates"
    label = "duplicates"

    def ready(self) -> None:
        from rapport.core.jobs import job_kind_register
        from rapport.duplicates.models import DuplicateScan

        job_kind_register(
            DuplicateScan,
            running=DuplicateScan.Status.RUNNING,
            stopped=DuplicateScan.Status.FAILED,
            message="rapport.duplicates.services.scans.duplicates_scan_stopped_message",
        )
