from django.apps import AppConfig


class MergesConfig(AppConfig):
    name = "rapport.merges"
    label = "merges"
