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
"""

import argparse
import http.client
import json
import operator
import os
import subprocess
import sys
import tempfile
import time
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
