from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "rapport.core"
    label = "core"

    def ready(self) -> None:
        from rapport.core import forking, schedule

        forking.install()
        schedule.quiet_routine_runs()
