#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forum_portal.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A missing setting (most often DJANGO_SECRET_KEY outside development) is the person's
        # to fix, not a bug: say what to set, without a traceback through Django's loader.
        sys.exit(f"{os.path.basename(sys.argv[0])}: configuration error: {exc}")


if __name__ == "__main__":
    main()
