from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "rapport.core"
    label = "core"

    def ready(self) -> None:
        from rapport.core import forking, schedule, subjects

        forking.install()
        schedule.quiet_routine_runs()
        # what the search index holds about a person goes with a privacy request
        subjects.register_provider("search", "rapport.core.subject_search:PROVIDER")
