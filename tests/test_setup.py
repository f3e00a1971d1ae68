"""What a newcomer meets on the command line: a missing setting is one clear line."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def test_manage_py_names_the_missing_setting_without_a_traceback():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key != "DATABASE_URL"
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "manage.py: configuration error: "
        "Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for development).\n"
    )
    assert "Traceback" not in result.stderr
