from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        # Register the Celery tasks once Django's models are loaded.
        from . import (
            checks,  # noqa: F401
            events,  # noqa: F401
            notify,  # noqa: F401
            rollups,  # noqa: F401
            snapshots,  # noqa: F401
            sweep,  # noqa: F401
            webhooks,  # noqa: F401
        )
