"""Full-page screenshots of every page type at 1366 and 390 px (Playwright + /usr/bin/chromium).

Usage: .venv/bin/python scripts/screenshots.py BASE_URL OUT_DIR [LANG ...]
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGES = {
    "home": "/",
    "forum": "/forums/pujiang-2025/",
    "question": "/forums/pujiang-2025/questions/who-integrates/",
    "theme": "/forums/pujiang-2025/themes/enterprises-as-first-actor/",
    "theme-empty": "/forums/pujiang-2025/themes/outlook/",
    "speaker": "/speakers/liu-dongmei/",
    "position": "/positions/1/",
    "search": "/search/?q=%E8%9E%8D%E5%90%88",
    "search-none": "/search/?q=zzzzqqq",
    "matrix": "/forums/pujiang-2025/matrix/",
    "compare": "/compare/?speaker=liu-dongmei&speaker=daniel-almeida",
    "source": "/sources/pujiang-2025-science-policy-report/",
    "tag": "/tags/",
}
WIDTHS = {"desktop": 1366, "phone": 390}


def main():
    base, out = sys.argv[1].rstrip("/"), Path(sys.argv[2])
    langs = sys.argv[3:] or ["zh-hant"]
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width_name, width in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": 900})
            for lang in langs:
                for name, path in PAGES.items():
                    response = page.goto(f"{base}/{lang}{path}")
                    page.screenshot(path=out / f"{lang}-{name}-{width_name}.png", full_page=True)
                    print(lang, name, width_name, response.status if response else "-")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
