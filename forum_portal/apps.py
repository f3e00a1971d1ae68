from django.apps import AppConfig


class ForumPortalConfig(AppConfig):
    """The project package as an app: connects the page cache's write watch, has commands."""

    name = "forum_portal"
    verbose_name = "Forum Portal"

    def ready(self):
        from django.apps import apps
        from django.db import connections
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401 - registers the deploy checks
        from .cache import install_write_watch
        from .site import sync_site

        connection_created.connect(install_write_watch, dispatch_uid="page_cache_write_watch")
        # Connections this thread already opened (rare this early) get it now.
        for connection in connections.all(initialized_only=True):
            install_write_watch(connection=connection)
        # After the sites app's own receiver (which creates example.com): the Site row follows
        # DJANGO_SITE_URL (forum_portal/site.py).
        post_migrate.connect(
            sync_site, sender=apps.get_app_config("sites"), dispatch_uid="sync_site_domain"
        )
