from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProceedingsConfig(AppConfig):
    name = "proceedings"
    verbose_name = _("Proceedings")

    def ready(self):
        # Search documents follow single-object edits (see proceedings/search/signals.py).
        from .search import signals  # noqa: F401
