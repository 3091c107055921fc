from django.apps import AppConfig


class MergesConfig(AppConfig):
    name = "rapport.merges"
    label = "merges"

    def ready(self) -> None:
        from rapport.core import subjects

        # merge snapshots keep whole records of the people merged
        subjects.register_provider("merges", "rapport.merges.subject_data:PROVIDER")
