from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "rapport.quality"
    label = "quality"
