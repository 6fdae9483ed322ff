from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project package (settings, URLs, Celery, the home page, health, backups, the demo
    loader): an app only for its management commands. It owns no models. Its label is `project`
    because `trialedc` is the kernel's (decision 0019)."""

    name = "trialedc"
    label = "project"
    verbose_name = "Trial EDC project"
