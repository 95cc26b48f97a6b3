from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Qinglian tracker"

    def ready(self) -> None:
        # Event handlers register themselves on import.
        from . import handlers  # noqa: F401
        from .inspections import handlers as inspection_handlers  # noqa: F401
