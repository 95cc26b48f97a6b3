from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class TrackerConfig(AppConfig):
    """One Django app for the whole domain; its bounded contexts are packages inside it
    (docs/architecture.md says why)."""

    name = "tracker"
    verbose_name = gettext_lazy("Qinglian tracker")

    def ready(self) -> None:
        # Each context registers its event handlers in tracker.audit.registry on import; importing them
        # here, once the models are loaded, is what fills the registry (the event log imports none).
        from tracker.inspections import handlers as inspections_handlers
        from tracker.monitoring import handlers as monitoring_handlers
        from tracker.notify import handlers as notify_handlers
        from tracker.reporting import handlers as reporting_handlers

        del inspections_handlers, monitoring_handlers, notify_handlers, reporting_handlers

        # No control characters in any text field of the domain (tracker/text.py says why).
        from tracker.text import model_text_guard

        model_text_guard(self.get_models())
