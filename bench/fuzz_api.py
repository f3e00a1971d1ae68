"""
Fuzz the JSON API from its OpenAPI schema (schemathesis): generated requests, no server error.

    python bench/fuzz_api.py --serve --requests 10000    # gunicorn on a scratch database
    python bench/fuzz_api.py --base-url http://127.0.0.1:8000

schemathesis reads ``/api/schema/`` and generates requests for every operation: path slugs and
ids, every query parameter (filters, repeated; page and page_size; sort; q), both within the
schema (valid enums, integers from 1) and outside it (negative pages, unknown filter values,
wrong types, odd Unicode), as hypothesis strategies. Any answer of 500 or more, or a dropped
connection, fails the run, and hypothesis shrinks it to the smallest failing request. The run
prints the count of each status code.

With ``--serve`` it starts gunicorn with production settings on a scratch PostgreSQL database
with the bundled forums, the page cache and the API rate limit off (bench/fuzz.py does the
same for the pages). Only 127.0.0.1 is targeted; the run stops after ``--requests`` requests.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCHEMA_PATH = "/api/schema/?format=json"


def api_schema(base):
    """Return the schemathesis schema of the API served at ``base``."""
    import schemathesis

    with urllib.request.urlopen(base + SCHEMA_PATH, timeout=60) as response:  # noqa: S310
        document = json.load(response)
    return schemathesis.openapi.from_dict(document)


def cases(schema):
    """Generated requests for every operation, within the schema and outside it."""
    from schemathesis import GenerationMode

    return st.one_of(
        schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


def fuzz(base, schema, count, statuses):
    """Send ``count`` generated requests; fail (and shrink) on a 5xx or a broken connection."""

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(schema))
    def one(case):
        response = case.call(base_url=base, timeout=60)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            raise AssertionError(f"{case.method} {case.formatted_path} {case.query} -> 500")

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
    )
    parser.add_argument("--port", type=int, default=8704)
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
    env["DJANGO_API_RATE"] = "off"  # 10,000 requests from one address, on purpose
    server, base = None, args.base_url
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
        log_path = Path(tempfile.gettempdir()) / "forum-portal-fuzz-api-server.log"
        print(f"gunicorn's output: {log_path}")
        server = subprocess.Popen(  # noqa: S603
            [str(ROOT / "scripts" / "serve")],
            cwd=ROOT,
            env=env,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    if not base or not base.startswith(("http://127.0.0.1", "http://localhost")):
        raise SystemExit("give --serve, or --base-url of a server on this machine (127.0.0.1)")
    statuses = Counter()
    started = time.monotonic()
    try:
        if server:
            wait_until_up(base)
        schema = api_schema(base)
        operations = sum(1 for _ in schema.get_all_operations())
        print(f"Fuzzing {base}: {args.requests:,} requests, {operations} operations", flush=True)
        fuzz(base, schema, args.requests, statuses)
    finally:
        if server:
            os.killpg(server.pid, 15)
            server.wait(timeout=60)
        total = sum(statuses.values())
        print(
            f"{total:,} requests in {time.monotonic() - started:.0f} s: "
            + ", ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items()))
        )
    print("no server error")


if __name__ == "__main__":
    main()
