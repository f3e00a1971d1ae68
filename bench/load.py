"""
Load test: gunicorn with the production settings on 127.0.0.1, wrk against the main pages.

    python bench/load.py                      # 100,000 positions, 20 s per run, 8 connections
    python bench/load.py --skip-load --database-url sqlite:////tmp/bench.sqlite3
    python bench/load.py --skip-load --duration 10 --connections 8 64

Steps: load the synthetic corpus (``bench/run.py --load-only``, the search benchmark's own
loader) into a scratch PostgreSQL database; start ``scripts/serve`` (check, collectstatic,
migrate, gunicorn with forum_portal/gunicorn.conf.py) with production settings and no TLS;
then for each page (a static file served by whitenoise, the ceiling, first; home, a theme, a
speaker, a position, search, the API's position list) and each connection count, run
``wrk --latency`` and report requests/s, its share of the static file's in the same run, p50,
p99 and errors (non-2xx/3xx responses and socket errors: connect, read, write, timeout). The
page cache is off unless ``--page-cache`` says how many seconds to keep pages (then every page
after the first request is a cache hit); with ``--redis-url`` the fragment cache is on (cards,
counts: forum_portal/cache.py), as in production. The table is printed and written to
``--output`` (``make load``: bench/load-latest.md).

wrk runs on the same machine as gunicorn, PostgreSQL and Redis, so it takes CPU from them:
the figures are a lower bound for a server of the same size. Only 127.0.0.1 is ever targeted,
and every run stops after ``--duration`` seconds.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not __package__:  # run as a script (python bench/load.py)
    sys.path.insert(0, str(ROOT))

from bench.corpus import CITIES, INDUSTRIES  # noqa: E402

PYTHON = os.environ.get("PORTAL_PYTHON", sys.executable)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded corpus")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/forum_portal_load"
        ),
        help="a scratch database: bench/run.py refuses one holding other forums",
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--page-cache", type=int, default=0, help="PAGE_CACHE_SECONDS")
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, nargs="+", default=[8])
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--port", type=int, default=8702)
    parser.add_argument("--workers", type=int, default=4, help="GUNICORN_WORKERS")
    parser.add_argument("--only", nargs="+", help="page names to run (home theme …)")
    parser.add_argument("--output", type=Path, help="write the results table to this file")
    return parser.parse_args()


def server_environment(args):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "GUNICORN_", "REDIS_"))
    }
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_PAGE_CACHE_SECONDS=str(args.page_cache),
        # wrk is one client address: the API's per-client limit (600 a minute) would answer
        # most of its requests with 429 once the list serves more than 10 a second.
        DJANGO_API_RATE="off",
        DATABASE_URL=args.database_url,
        GUNICORN_BIND=f"127.0.0.1:{args.port}",
        PORTAL_PYTHON=PYTHON,
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
        # A prefix of its own each run: nothing an earlier run kept (the searches of the "search,
        # each a new one" row above all) is found again.
        env["DJANGO_CACHE_KEY_PREFIX"] = f"forum-portal-load-{secrets.token_hex(4)}"
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    return env


def ensure_database(url):
    """Create the scratch PostgreSQL database when it does not exist."""
    match = re.match(r"postgres(?:ql)?://([^@/]+)@([^:/]+):?(\d*)/(\w+)$", url)
    if not match:
        return
    user, host, port, name = match.groups()
    psql = ["psql", "-h", host, "-p", port or "5432", "-U", user, "-d", "postgres", "-Atqc"]
    # The name matched \w+ above: nothing to inject.
    exists = subprocess.run(  # noqa: S603
        [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],  # noqa: S608
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(  # noqa: S603
            [*psql, f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"], check=True
        )


def load_corpus(args, env):
    ensure_database(args.database_url)
    print(f"Loading {args.positions:,} positions into {args.database_url} (bench/run.py)…")
    subprocess.run(  # noqa: S603
        [PYTHON, "bench/run.py", "--positions", str(args.positions), "--load-only"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "forum_portal.settings"},
        check=True,
    )


def pick_urls(env):
    """Return {name: path} of the pages to load, chosen from the loaded corpus."""
    script = r"""
import json, django
django.setup()
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db.models import Count
from django.urls import NoReverseMatch, reverse
from proceedings.models import Position, Theme
from speakers.models import Speaker

theme = Theme.objects.published().filter(forum__slug="bench-0").order_by("order", "pk").first()
# A speaker with the median number of positions, and a position from the middle of the corpus.
speakers = list(
    Speaker.objects.filter(slug__startswith="bench-")
    .annotate(n=Count("appearances__positions"))
    .filter(n__gt=0)
    .order_by("n", "pk")
    .values_list("slug", "n")
)
slug, count = speakers[len(speakers) // 2]
ids = Position.objects.published().order_by("pk").values_list("pk", flat=True)
position = ids[ids.count() // 2]
urls = {
    "static": staticfiles_storage.url("css/portal.css"),
    "home": reverse("proceedings:home"),
    "theme": theme.get_absolute_url(),
    "speaker": reverse("proceedings:speaker-detail", args=[slug]),
    "position": reverse("proceedings:position-detail", args=[position]),
}
try:
    urls["search"] = reverse("proceedings:search") + "?q=%E7%A7%91%E6%8A%80%E5%89%B5%E6%96%B0"
except NoReverseMatch:
    pass
urls["API positions list"] = reverse("api:position-list", kwargs={"version": "v1"})
print(json.dumps({"urls": urls, "speaker_positions": count,
                  "theme_positions": Position.objects.published().filter(themes=theme).count()}))
"""

    out = subprocess.run(  # noqa: S603
        [PYTHON, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "forum_portal.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# The "search, each a new one" row: words of the corpus (bench/corpus.py) alone, with a sector,
# and with a sector and a fidelity: 98 x (1 + 6 + 18) = 2,450 searches, each with its own
# candidates, so that no request reuses what an earlier one kept (search's candidate sets are
# kept per content generation: the "search" row asks the same one again and again). The first
# 36 words are the row's words until session 25 (900 searches); the cities and industries make
# enough searches for 20 s of a server twice as fast as this one's without asking one again.
SEARCH_WORDS = [
    "融合", "企業", "人才", "數據", "企业", "台湾", "科技創新", "成果轉化", "耐心資本", "科技创新",
    "数据要素", "知识产权保护", "6G通信", "集成電路", "innovation", "enterprises", "capital",
    "企業創新主體", "知識產權", "人才引進", "科技金融", "未來產業", "區域創新", "開放合作",
    "基礎研究", "科研評價", "產業鏈", "新型研發機構", "數字化轉型", "綠色低碳", "概念驗證",
    "創新生態", "國際合作", "標準制定", "深圳", "大學",
]  # fmt: skip
SEARCH_WORDS += [
    word
    for word in [city for city, _en in CITIES] + [industry for industry, _en in INDUSTRIES]
    if word not in SEARCH_WORDS
]
SEARCH_SECTORS = ["government", "academia", "research", "enterprise", "finance", "association"]
SEARCH_FIDELITIES = ["verbatim", "paraphrase", "summary"]


def varied_searches(search_path):
    """Return the query strings of the "search, each a new one" row."""
    paths = []
    for word in SEARCH_WORDS:
        q = f"q={urllib.parse.quote(word)}"
        paths.append(f"{search_path}?{q}")
        paths += [f"{search_path}?{q}&sector={sector}" for sector in SEARCH_SECTORS]
        paths += [
            f"{search_path}?{q}&sector={sector}&fidelity={fidelity}"
            for sector in SEARCH_SECTORS
            for fidelity in SEARCH_FIDELITIES
        ]
    return paths


def wrk_script(paths, threads):
    """Write a wrk Lua script that requests ``paths`` in order, each once, over ``threads``.

    Thread i asks paths i, i + threads, i + 2 x threads…: between them, the threads go through
    the list once, in order (a search narrowed down follows the one before it), and none asks
    a path another has asked. ``done()`` counts the paths asked more than once, when a run
    outlasts the list (``run_wrk`` reports them).
    """
    quoted = ",\n".join(json.dumps(path) for path in paths)
    script = f"""
paths = {{
{quoted}
}}
local threads = 0
local counters = {{}}
function setup(thread)
  thread:set("first", threads)
  threads = threads + 1
  table.insert(counters, thread)
end
function init(args)
  step = 0
end
function request()
  local i = (first + {threads} * step) % #paths + 1
  step = step + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local asked = 0
  for _, thread in ipairs(counters) do
    asked = asked + thread:get("step")
  end
  io.write(string.format("repeated paths: %d\\n", math.max(0, asked - #paths)))
end
"""
    handle = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    with handle:
        handle.write(script)
    return handle.name


def wait_until_up(base, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    raise SystemExit("gunicorn did not become ready")


def drain(base, seconds=300):
    """Wait until the requests wrk left queued are served: /healthz answers at once again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            fetch_status(base + "/healthz")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            continue
        if time.monotonic() - started < 0.2:
            return
    raise SystemExit("the server is still busy after the last run")


def fetch_status(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


VARIED = "search, each a new one"
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def milliseconds(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def run_wrk(url, connections, duration, threads, paths=None):
    """Run wrk; return requests/s, p50 and p99 in ms, requests, non-2xx/3xx, socket errors.

    ``paths``: the paths to request in turn, each once (``wrk_script``); then ``repeated`` is
    how many requests asked a path a second time.
    """
    threads = min(threads, connections)
    script = wrk_script(paths, threads) if paths else None
    out = subprocess.run(  # noqa: S603
        [  # noqa: S607 - wrk from PATH (apt-get install wrk)
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "30s",
            "--latency",
            *(["-s", script] if script else []),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    socket = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": milliseconds(latency["50"]),
        "p99": milliseconds(latency["99"]),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non_2xx_3xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1]),
        "socket_errors": sum(int(n) for n in socket.groups()) if socket else 0,
        "repeated": int((re.search(r"repeated paths: (\d+)", out) or [0, 0])[1]),
        "raw": out,
    }


def main():
    args = parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    env = server_environment(args)
    if not args.skip_load:
        load_corpus(args, env)
    # The static file's hashed name is read from the manifest, which scripts/serve builds
    # later: collect first.
    subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "forum_portal.settings"},
        check=True,
    )
    chosen = pick_urls(env)
    urls = chosen["urls"]
    varying = {}  # page name -> the paths its requests go through
    if "search" in urls:
        # After "search", in the table's order: the same page, a new search each request.
        search_path = urls["search"].partition("?")[0]
        varied = varied_searches(search_path)
        urls = {
            **{name: path for name, path in urls.items() if name != "API positions list"},
            VARIED: varied[0],
            "API positions list": urls["API positions list"],
        }
        varying[VARIED] = varied
    if args.only:
        urls = {name: path for name, path in urls.items() if name in args.only}
    base = f"http://127.0.0.1:{args.port}"

    log = Path(tempfile.gettempdir()) / "forum-portal-load-server.log"
    print(f"gunicorn's output: {log}")
    with log.open("w") as log_file:
        server = subprocess.Popen(  # noqa: S603
            [str(ROOT / "scripts" / "serve")],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    rows = []
    try:
        wait_until_up(base)
        for name, path in urls.items():
            status = fetch_status(base + path)
            if status != 200:
                raise SystemExit(f"{name} {path} answered {status}")
        for name, path in urls.items():
            for connections in args.connections:
                print(f"wrk {name} {path} -c{connections} -d{args.duration}s …", flush=True)
                drain(base)
                result = run_wrk(
                    base + path, connections, args.duration, args.threads, varying.get(name)
                )
                rows.append((name, path, connections, result))
                print(
                    f"  {result['rps']:.1f} req/s, p50 {result['p50']:.1f} ms, "
                    f"p99 {result['p99']:.1f} ms, errors "
                    f"{result['non_2xx_3xx'] + result['socket_errors']}",
                    flush=True,
                )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    workers = args.workers
    static = {c: r["rps"] for name, _, c, r in rows if name == "static"}
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    lines = [
        "",
        f"Run of {time.strftime('%Y-%m-%d %H:%M')}: {os.cpu_count()} cores, {workers} gunicorn "
        f"sync workers, page cache {'off' if not args.page_cache else f'{args.page_cache} s'}, "
        f"cache {'Redis (fragment cache on)' if args.redis_url else 'local memory'}, "
        f"database {args.database_url.split(':')[0]}, {args.duration} s per run, "
        f"wrk -t{args.threads} on the same machine (load average after the runs: {load}). "
        f"Theme page: {chosen['theme_positions']} positions; speaker page: "
        f"{chosen['speaker_positions']} positions.",
        "",
        "| page | connections | requests/s | % of static | p50 ms | p99 ms | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, path, connections, r in rows:
        errors = r["non_2xx_3xx"] + r["socket_errors"]
        share = r["rps"] / static[connections] * 100 if static.get(connections) else 0
        if name == VARIED:
            path = f"{path} … ({len(varied):,} searches in turn, each once)"
            if r["repeated"]:
                path += f", {r['repeated']:,} asked again (the run outlasted them)"
        lines.append(
            f"| {name} `{path}` | {connections} | {r['rps']:.1f} | {share:.2f}% | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['requests']:,} | {errors} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    if args.output:
        args.output.write_text(table)
    if any(r["non_2xx_3xx"] + r["socket_errors"] for *_, r in rows):
        raise SystemExit("errors during the load test")


if __name__ == "__main__":
    main()
