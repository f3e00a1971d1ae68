"""
Lighthouse on a phone profile: home, forum, theme, speaker, position and search pages in the
three languages, against the production stack (gunicorn, whitenoise, DEBUG off) on a scratch
SQLite database with the bundled forum. Writes the scores to docs/lighthouse.md.

    make lighthouse                       # LIGHTHOUSE="npx --yes lighthouse@12" by default
    .venv/bin/python scripts/lighthouse.py --base http://127.0.0.1:8000   # a running server

Needs Node (npx) and Chromium (CHROME_PATH, default /usr/bin/chromium). Lighthouse's default
form factor is a mobile phone with simulated slow 4G and a 4x slower CPU.
"""

import argparse
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["zh-hant", "zh-hans", "en"]
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
PAGES = {
    "home": "/",
    "forum": "/forums/pujiang-2025/",
    "theme": "/forums/pujiang-2025/themes/enterprises-as-first-actor/",
    "speaker": "/speakers/liu-dongmei/",
    "position": None,  # the first position linked from the theme page
    "search": "/search/?q=%E8%9E%8D%E5%90%88",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(python, workdir):
    """Migrate and load a scratch database, then scripts/serve on a free port."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{workdir}/lighthouse.sqlite3",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PORTAL_PYTHON": python,
        "SERVE_MIGRATE": "0",
    }
    for command in (["migrate", "--no-input"], ["load_bundled_data"]):
        subprocess.run([python, "manage.py", *command], cwd=ROOT, env=env, check=True)  # noqa: S603
    server = subprocess.Popen([str(ROOT / "scripts/serve")], cwd=ROOT, env=env)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    for _attempt in range(60):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)  # noqa: S310
            return server, base
        except OSError:
            time.sleep(1)
    server.terminate()
    raise SystemExit("the server did not start")


def first_position(base):
    url = f"{base}/zh-hant{PAGES['theme']}"
    html = urllib.request.urlopen(url, timeout=30).read().decode()  # noqa: S310
    return re.search(r'href="/zh-hant(/positions/\d+/)"', html).group(1)


def run_lighthouse(command, url, chrome):
    args = [
        *shlex.split(command),
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless --no-sandbox",
    ]
    env = {**os.environ, "CHROME_PATH": chrome}
    # On a busy machine Chromium sometimes fails to start in time: one more try.
    for attempt in (1, 2):
        result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603
        if result.returncode == 0 or attempt == 2:
            break
    result.check_returncode()
    report = json.loads(result.stdout)
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    failing = sorted(
        audit_id
        for c in CATEGORIES[1:]
        for ref in report["categories"][c]["auditRefs"]
        if ref["weight"]
        and (audit_id := ref["id"])
        and report["audits"][audit_id]["score"] is not None
        and report["audits"][audit_id]["score"] < 1
    )
    return scores, failing


def write_report(path, rows, command):
    lines = [
        "# Lighthouse scores",
        "",
        "`make lighthouse` (scripts/lighthouse.py): Lighthouse's mobile profile (simulated",
        "slow 4G, 4x CPU slowdown, 412 px wide), headless Chromium, against the production",
        "stack (gunicorn, whitenoise, DEBUG off) on a scratch SQLite database with the",
        "bundled forum.",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command}`.",
        "",
        "| Page | Language | Performance | Accessibility | Best Practices | SEO | Audits below 1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for page, language, scores, failing in rows:
        cells = " | ".join(str(scores[c]) for c in CATEGORIES)
        lines.append(f"| {page} | {language} | {cells} | {', '.join(failing) or '–'} |")
    lines += [
        "",
        "The search page measured is a plain query (`?q=融合`), which robots.txt allows and",
        "the page lets be indexed; its filtered, sorted and paged variants say `noindex`",
        "(forum_portal/robots.py). Performance varies a few points from run to run on a busy",
        "machine.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="a running server (default: start one)")
    parser.add_argument(
        "--lighthouse", default=os.environ.get("LIGHTHOUSE", "npx --yes lighthouse@12")
    )
    parser.add_argument("--chrome", default=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    parser.add_argument("--python", default=str(ROOT / ".venv/bin/python"))
    parser.add_argument("--output", default=str(ROOT / "docs/lighthouse.md"))
    args = parser.parse_args()

    server = None
    with tempfile.TemporaryDirectory() as workdir:
        if args.base:
            base = args.base.rstrip("/")
        else:
            server, base = start_server(args.python, workdir)
        try:
            pages = {**PAGES, "position": first_position(base)}
            rows = []
            for language in LANGUAGES:
                for page, path in pages.items():
                    scores, failing = run_lighthouse(
                        args.lighthouse, f"{base}/{language}{path}", args.chrome
                    )
                    rows.append((page, language, scores, failing))
                    print(page, language, scores, " ".join(failing), flush=True)
        finally:
            if server:
                server.terminate()
                server.wait(timeout=30)
    write_report(Path(args.output), rows, args.lighthouse)
    low = [
        r for r in rows if min(r[2][c] for c in CATEGORIES[1:3]) < 100 or r[2]["performance"] < 95
    ]
    sys.exit(1 if low else 0)


if __name__ == "__main__":
    main()
