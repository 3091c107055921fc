from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "rapport.access"
    label = "access"
