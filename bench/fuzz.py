"""
Fuzz the public pages over HTTP: hypothesis-generated requests, and not one server error.

    python bench/fuzz.py --serve --requests 10000     # gunicorn on a scratch database
    python bench/fuzz.py --base-url http://127.0.0.1:8000 --database-url postgres://…

Each request is a public URL pattern filled with real slugs and ids (taken from the database)
or generated text (Chinese, emoji, control characters, "..", percent-escapes, invalid UTF-8,
very long), with query parameters (every search filter once the search page exists, page,
order, sort, random keys; repeated and empty values), under random Accept-Language,
language-cookie and X-Request-ID headers, as GET or HEAD. Any answer of 500 or more, or a
dropped connection, fails the run; hypothesis then shrinks it to the smallest request that
still fails. The JSON API is fuzzed from its OpenAPI schema by bench/fuzz_api.py.

With ``--serve`` it migrates a scratch PostgreSQL database (``--database-url``, default
``forum_portal_fuzz``), loads the bundled forums into it (idempotent) and starts
``scripts/serve`` on it with production settings, the page cache off so every request reaches
a view. Only 127.0.0.1 is targeted; the run stops after ``--requests`` requests.

Then ``--uploads`` files (default 300) go to the admin's import preview as a superuser made
for the run: the example CSV with one cell replaced by generated or hostile text (NUL, over
long, invalid UTF-8…), JSON documents with a generated value in a random place or nested
100,000 deep, XLSX workbooks with entity declarations or a zip bomb, and random bytes under
each file name. Every answer must be below 500.
"""

import argparse
import http.client
import io
import json
import operator
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTORS = [
    "government",
    "academia",
    "research",
    "enterprise",
    "finance",
    "association",
    "foreign",
]
FACETS = [
    "theme",
    "question",
    "speaker",
    "institution",
    "sector",
    "forum",
    "tag",
    "language",
    "fidelity",
]
PAGE_PARAMS = ["page", "order", "sort", "per_page", "q", "lang", "language", "next"]
# The analysts' pages: the matrix's axis, the comparison's speakers and forum.
PAGE_PARAMS += ["by", "speaker", "forum"]

# Text that has broken web apps before: separators, escapes, control and wide characters.
NASTY = [
    "",
    " ",
    "..",
    "../..",
    "%",
    "%00",
    "%2F",
    "%ff%fe",
    "'",
    '"',
    "<script>",
    "\\",
    "\x00",
    "\n",
    "\u202e",
    "𝕏",
    "😀",
    "融合",
    "企业",
    "A" * 300,
    "9" * 30,
    "-1",
    "0",
    "1e9",
    "NaN",
    "true",
    "[]",
    "{}",
    "a:b",
    "bench-0:t1",
    "bench-0:",
    ":t1",
    "null",
]


def path_text():
    """Text for a path segment: real-looking, nasty or random."""
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
        st.from_regex(r"\A[a-z0-9-]{1,60}\Z"),
    )


def segment(known):
    """A path segment: one of ``known`` (real slugs) or generated text, percent-encoded."""
    choices = [path_text()]
    if known:
        choices.insert(0, st.sampled_from(known))
    return st.one_of(*choices).map(lambda text: quote(str(text), safe=""))


def number(known):
    """A path segment where an id belongs: real ids, huge and negative numbers, or junk."""
    choices = [st.integers(min_value=-5, max_value=2**63 + 5).map(str), st.sampled_from(NASTY)]
    if known:
        choices.insert(0, st.sampled_from([str(n) for n in known]))
    return st.one_of(*choices).map(lambda text: quote(text, safe=""))


def paths(data):
    """URL paths of every public page type, with real and generated parts, under each language
    prefix and none (a bare address redirects to a language)."""
    forums, themes = data.get("forums", []), data.get("themes", [])
    prefixes = st.sampled_from(["", "/zh-hant", "/zh-hans", "/en"])
    return st.builds(operator.add, prefixes, _page_paths(data, forums, themes))


def _page_paths(data, forums, themes):
    return st.one_of(
        st.just("/"),
        st.builds("/forums/{}/".format, segment(forums)),
        st.builds(
            "/forums/{}/{}/{}/".format,
            segment(forums),
            st.sampled_from(["sessions", "questions", "themes"]),
            segment(themes + data.get("sessions", []) + data.get("questions", [])),
        ),
        st.builds("/forums/{}/{}/".format, segment(forums), st.sampled_from(["matrix", "balance"])),
        st.builds("/forums/{}/themes/{}/balance/".format, segment(forums), segment(themes)),
        st.just("/compare/"),
        st.builds("/positions/{}/".format, number(data.get("positions", []))),
        st.just("/speakers/"),
        st.builds("/speakers/{}/".format, segment(data.get("speakers", []))),
        st.just("/institutions/"),
        st.builds("/institutions/{}/".format, segment(data.get("institutions", []))),
        st.just("/sectors/"),
        st.builds("/sectors/{}/".format, segment(SECTORS)),
        st.builds("/tags/{}/".format, segment(data.get("tags", []))),
        st.builds("/sources/{}/".format, segment(data.get("sources", []))),
        st.builds("/{}".format, path_text().map(lambda text: quote(text, safe="/%"))),
    )


def query_values(data):
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
        st.sampled_from(data.get("speakers", []) or ["x"]),
        st.sampled_from(data.get("facet_values", []) or ["x"]),
        st.sampled_from(SECTORS + ["verbatim", "paraphrase", "summary", "zh-Hant", "en"]),
        st.integers(min_value=-3, max_value=10**12).map(str),
    )


def queries(data, keys):
    return st.lists(
        st.tuples(st.one_of(st.sampled_from(keys), path_text()), query_values(data)),
        max_size=6,
    )


def requests(data):
    """Whole requests: (method, path with query string, headers)."""
    page_keys = PAGE_PARAMS + FACETS
    pages = st.tuples(paths(data), queries(data, page_keys))
    choices = [pages]
    if data.get("search"):
        # The search page, with every filter (often several, and repeated) and a query.
        search_query = st.tuples(
            st.just(("q", "")), st.lists(st.tuples(st.sampled_from(page_keys), query_values(data)))
        ).map(lambda parts: [parts[0], *parts[1]])
        text_query = st.tuples(st.just("q"), query_values(data))
        choices.append(
            st.tuples(
                st.just(data["search"]),
                st.one_of(
                    search_query,
                    st.lists(text_query, max_size=2).flatmap(
                        lambda q: queries(data, page_keys).map(lambda rest: q + rest)
                    ),
                ),
            )
        )
    headers = st.fixed_dictionaries(
        {},
        optional={
            "Accept-Language": st.one_of(
                st.sampled_from(
                    ["zh-Hant", "zh-Hans", "en", "zh-TW,zh;q=0.9", "fr", "*", "x" * 200]
                ),
                st.from_regex(r"\A[ -~]{0,50}\Z"),
            ),
            "Cookie": st.from_regex(r"\A[ -~]{0,80}\Z").map(lambda v: f"django_language={v}"),
            "X-Request-ID": st.from_regex(r"\A[ -~]{0,140}\Z"),
        },
    )
    return st.tuples(
        st.sampled_from(["GET", "GET", "GET", "HEAD"]),
        st.one_of(*choices).map(
            lambda parts: parts[0] + ("?" + urlencode(parts[1]) if parts[1] else "")
        ),
        headers,
    )


# ---------------------------------------------------------------------------------------------
# Running it
# ---------------------------------------------------------------------------------------------


def known_values(env):
    """Real slugs and ids from the server's database, so generated URLs reach real pages."""
    script = r"""
import json, django
django.setup()
from django.urls import NoReverseMatch, reverse
from taggit.models import Tag
from proceedings.models import Forum, Position, Question, Session, SourceDocument, Theme
from speakers.models import Institution, Speaker

def some(qs, field="slug", n=40):
    return [str(v) for v in qs.order_by("pk").values_list(field, flat=True)[:n]]

themes = list(Theme.objects.select_related("forum").order_by("pk")[:40])
data = {
    "forums": some(Forum.objects), "themes": [t.slug for t in themes],
    "sessions": some(Session.objects), "questions": some(Question.objects),
    "positions": some(Position.objects, "pk"), "speakers": some(Speaker.objects),
    "institutions": some(Institution.objects), "tags": some(Tag.objects),
    "sources": some(SourceDocument.objects),
    "facet_values": [f"{t.forum.slug}:{t.slug}" for t in themes] + some(Theme.objects, "pk"),
}
try:
    data["search"] = reverse("proceedings:search")
except NoReverseMatch:
    pass
try:
    data["import"] = reverse("admin:proceedings_position_import")
    data["login"] = reverse("admin:login")
except NoReverseMatch:
    pass
print(json.dumps(data))
"""
    out = subprocess.run(  # noqa: S603
        [os.environ.get("PORTAL_PYTHON", sys.executable), "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "forum_portal.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


class Client:
    """One keep-alive HTTP connection to the server under test, reopened when it closes."""

    def __init__(self, base_url):
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("fuzz only a server on this machine (127.0.0.1)")
        self.host, self.port = parts.hostname, parts.port or 80
        self.connection = None

    def request(self, method, target, headers):
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request(method, target, headers={"Host": "127.0.0.1", **headers})
                response = self.connection.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                return response.status
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        return None


def fuzz(client, data, count, statuses):
    """Send ``count`` generated requests; fail (and shrink) on a 5xx or a broken connection."""

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(requests(data))
    def one(request):
        method, target, headers = request
        status = client.request(method, target, headers)
        statuses[status] += 1
        if status >= 500:
            raise AssertionError(f"{method} {target} {headers} -> {status}")

    one()


# ---------------------------------------------------------------------------------------------
# Uploads to the admin's import
# ---------------------------------------------------------------------------------------------

EXAMPLE_CSV = ROOT / "docs" / "examples" / "positions.csv"
BUNDLED_JSON = ROOT / "proceedings" / "data" / "pujiang-2025.json"
HOSTILE = ["\x00", "a\x00b", "x" * 5000, "javascript:alert(1)", "=HYPERLINK(1)", "Zhao Yuqing", "0"]


def _xlsx(sheet_xml=None, extra=None):
    """Return a small XLSX workbook, its sheet XML replaced or a part added."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["forum", "session", "speaker", "text", "fidelity"])
    workbook.active.append(["pujiang-2025", "science-policy", "王战", "文字", "summary"])
    out = io.BytesIO()
    workbook.save(out)
    if sheet_xml is None and extra is None:
        return out.getvalue()
    rebuilt = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(out.getvalue())) as source,
        zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            content = source.read(item.filename)
            if sheet_xml is not None and item.filename == "xl/worksheets/sheet1.xml":
                content = sheet_xml(content)
            target.writestr(item.filename, content)
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return rebuilt.getvalue()


def xlsx_cases():
    laughs = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">]>'
    return [
        _xlsx(),
        _xlsx(lambda xml: laughs + xml.split(b"?>", 1)[-1].replace(b"<v>", b"<v>&a;", 1)),
        _xlsx(extra={"xl/bomb.xml": b" " * (60 * 2**20)}),
        _xlsx(lambda xml: xml[: len(xml) // 2]),
        b"PK\x03\x04" + secrets.token_bytes(200),
    ]


def uploads():
    """Generate (file name, content) pairs: hostile and careless import files."""
    csv_lines = EXAMPLE_CSV.read_bytes().decode("utf-8").splitlines()
    document = json.loads(BUNDLED_JSON.read_text(encoding="utf-8"))
    text = st.one_of(st.sampled_from(HOSTILE + NASTY), st.text(max_size=300))
    json_value = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=10,
    )

    @st.composite
    def csv_case(draw):
        lines = list(csv_lines)
        row = draw(st.integers(1, len(lines) - 1))
        cells = lines[row].split(",")
        cells[draw(st.integers(0, len(cells) - 1))] = draw(text).replace(",", ";")
        lines[row] = ",".join(cells)
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
        content = "\n".join(lines).encode(encoding, errors="replace")
        return draw(st.sampled_from(["positions.csv", "positions.txt"])), content

    @st.composite
    def json_case(draw):
        copy = json.loads(json.dumps(document))
        forum = copy["forums"][0]
        records = draw(
            st.sampled_from(
                [copy["people"], copy["institutions"], forum["positions"], forum["themes"]]
            )
        )
        record = records[draw(st.integers(0, len(records) - 1))]
        key = draw(st.one_of(st.sampled_from(sorted(record)), st.text(max_size=10)))
        record[key] = draw(json_value)
        return "forum.json", json.dumps(copy, ensure_ascii=False).encode()

    deep = st.integers(900, 200_000).map(lambda n: ("deep.json", b"[" * n + b"]" * n))
    raw = st.tuples(
        st.sampled_from(["a.csv", "a.json", "a.xlsx", "a.xls", "a"]), st.binary(max_size=2000)
    )
    workbooks = st.sampled_from(xlsx_cases()).map(lambda content: ("positions.xlsx", content))
    return st.one_of(csv_case(), json_case(), deep, raw, workbooks)


class Session(Client):
    """A client that keeps cookies and logs in to the admin (for the upload fuzzing)."""

    def __init__(self, base_url):
        super().__init__(base_url)
        self.cookies = {}

    def call(self, method, target, body=b"", headers=None):
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {"Host": "127.0.0.1", "Cookie": cookie, **(headers or {})}
        try:
            self.connection.request(method, target, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = None
            raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, content.decode("utf-8", errors="replace")

    def csrf(self, target):
        status, html = self.call("GET", target)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if status != 200 or not match:
            raise SystemExit(f"GET {target} -> {status}: no form")
        return match[1]

    def login(self, login_path, username, password):
        token = self.csrf(login_path)
        body = urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": password}
        ).encode()
        status, _html = self.call(
            "POST",
            login_path,
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302:
            raise SystemExit(f"admin login failed ({status})")

    def upload(self, target, token, name, content):
        boundary = secrets.token_hex(16)
        safe_name = quote(name)
        body = (
            (
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
                f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{safe_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, _html = self.call(
            "POST", target, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        return status


def make_uploader(env):
    """Create (or reset) the superuser the upload fuzzing logs in as; return its password."""
    password = secrets.token_urlsafe(16)
    script = (
        "import django; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "User = get_user_model(); User.objects.filter(username='fuzz-uploader').delete()\n"
        f"User.objects.create_superuser('fuzz-uploader', 'fuzz@example.org', '{password}')\n"
    )
    subprocess.run(  # noqa: S603
        [os.environ.get("PORTAL_PYTHON", sys.executable), "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "forum_portal.settings"},
        check=True,
    )
    return password


def fuzz_uploads(base, data, env, count, statuses):
    """Upload ``count`` generated files to the import preview; fail on a 5xx."""
    session = Session(base)
    session.login(data["login"], "fuzz-uploader", make_uploader(env))

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(uploads())
    def one(case):
        name, content = case
        status = session.upload(data["import"], session.csrf(data["import"]), name, content)
        statuses[status] += 1
        if status >= 500:
            raise AssertionError(f"upload {name!r} ({len(content):,} bytes) -> {status}")

    one()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="a running server on 127.0.0.1")
    parser.add_argument("--serve", action="store_true", help="start gunicorn (bench/load.py)")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "FUZZ_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/forum_portal_fuzz"
        ),
        help="the database the server reads (real slugs come from it)",
    )
    parser.add_argument("--port", type=int, default=8703)
    parser.add_argument(
        "--uploads", type=int, default=300, help="files for the admin import (0: none)"
    )
    args = parser.parse_args()

    from bench.load import ensure_database, server_environment, wait_until_up

    env = server_environment(
        argparse.Namespace(
            database_url=args.database_url,
            redis_url=os.environ.get("REDIS_URL", ""),
            page_cache=0,
            port=args.port,
            workers=None,
        )
    )
    server = None
    base = args.base_url
    if args.serve:
        base = f"http://127.0.0.1:{args.port}"
        ensure_database(args.database_url)
        for command in (["migrate", "--no-input", "-v", "0"], ["load_bundled_data"]):
            subprocess.run(  # noqa: S603
                [os.environ.get("PORTAL_PYTHON", sys.executable), "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        log_path = Path(tempfile.gettempdir()) / "forum-portal-fuzz-server.log"
        print(f"gunicorn's output: {log_path}")
        log = log_path.open("w")
        server = subprocess.Popen(  # noqa: S603
            [str(ROOT / "scripts" / "serve")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    if not base:
        raise SystemExit("give --base-url or --serve")
    statuses = Counter()
    started = time.monotonic()
    try:
        if server:
            wait_until_up(base)
        data = known_values({**env, "DATABASE_URL": args.database_url})
        print(
            f"Fuzzing {base}: {args.requests:,} requests; search page: "
            f"{data.get('search') or 'not there yet'}",
            flush=True,
        )
        fuzz(Client(base), data, args.requests, statuses)
        if args.uploads and data.get("import"):
            print(f"Uploading {args.uploads:,} files to {data['import']}", flush=True)
            fuzz_uploads(
                base, data, {**env, "DATABASE_URL": args.database_url}, args.uploads, statuses
            )
    finally:
        if server:
            os.killpg(server.pid, 15)
            server.wait(timeout=60)
        elapsed = time.monotonic() - started
        total = sum(statuses.values())
        print(
            f"{total:,} requests in {elapsed:.0f} s: "
            + ", ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items()))
        )
    print("no server error")


if __name__ == "__main__":
    main()
