from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "rapport.quality"
    label = "quality"

    def ready(self) -> None:
        from rapport.core import subjects

        subjects.register_provider("quality", "rapport.quality.subject_data:PROVIDER")
