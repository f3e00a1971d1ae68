from django.apps import AppConfig


class ForumPortalConfig(AppConfig):
    """The project package as an app: connects the page cache's write watch, has commands."""

    name = "forum_portal"
    verbose_name = "Forum Portal"

    def ready(self):
        from django.db import connections
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401 - registers the deploy checks
        from .cache import install_write_watch

        connection_created.connect(install_write_watch, dispatch_uid="page_cache_write_watch")
        # Connections this thread already opened (rare this early) get it now.
        for connection in connections.all(initialized_only=True):
            install_write_watch(connection=connection)
