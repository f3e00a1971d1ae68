"""Where the browser tests find Chromium and put their screenshots (the fixture: conftest.py)."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Screenshots the browser tests take, for people to look at (ignored by git).
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
