"""
Instructions a page's request runs, counted by callgrind: a figure this noisy machine repeats.

    DATABASE_URL=postgres://…/forum_portal_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/instructions.py --after-edit [--runs 10] [--page home] [TREE …]

Wall-clock times of the same code here move by 20–40 % from one run to the next, more than
most changes to a page's Python. ``valgrind --tool=callgrind`` counts the instructions the
interpreter runs instead, the same from one run to the next whatever else the machine does.
For each page of the load test (``bench/uncached.py``'s, chosen the same way), this runs the
page's request ``--runs`` times under callgrind after three warm-ups, then again with none,
each in a fresh process with a cache key prefix of its own, and prints the difference per
request: the request alone, without Django's start-up. ``--after-edit`` moves the content
generation on before each request (the first reader after an edit).

``TREE``: code trees to compare (e.g. a clone of an earlier commit, with its own ``.venv`` or
a link to this one), each run with its own interpreter; this tree when none is given. The
database server's own work (PostgreSQL's) is not counted, only this process's, which on
SQLite includes running the statements. Needs valgrind; each count takes 30–60 s.
"""

import argparse
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("home", "theme (50 cards)", "speaker", "position", "search", "API positions list")
NEW_SEARCHES = "search, each a new one"  # uncached.time_new_searches()'s searches, in turn


def child(root, page, runs, after_edit):
    """Request ``page`` three times, then ``runs`` times (in a process callgrind counts), with
    the code of the tree at ``root``."""
    sys.path[:0] = [root, str(Path(root) / "bench")]
    os.environ["DJANGO_CACHE_KEY_PREFIX"] = f"forum-portal-instructions-{secrets.token_hex(4)}"
    import uncached  # noqa: PLC0415 - sets up Django as the bench does
    from django.test import Client  # noqa: PLC0415

    from forum_portal.cache import bump_generation  # noqa: PLC0415

    _theme, paths = uncached.pages()
    if page == NEW_SEARCHES:
        searched = paths["search"].partition("?")[0]
        urls = uncached.varied_searches(searched)[7::29][: 3 + runs]
    else:
        urls = [paths[page]] * (3 + runs)
    client = Client(HTTP_HOST="localhost")
    before = bump_generation if after_edit else (lambda: None)
    for url in urls:
        before()
        response = client.get(url)
        if response.status_code != 200:
            sys.exit(f"{url} answered {response.status_code}")


def count(tree, page, runs, after_edit):
    """Return the instructions callgrind counted for ``child()`` run in ``tree``."""
    python = Path(tree) / ".venv" / "bin" / "python"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        str(python),
        __file__,  # this script, run on the code of ``tree``, which may not have it
        "--child",
        page,
        "--root",
        str(Path(tree).resolve()),
        "--runs",
        str(runs),
    ]
    if after_edit:
        command.append("--after-edit")
    result = subprocess.run(command, capture_output=True, text=True, cwd=tree, check=False)  # noqa: S603
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        sys.exit(f"{tree}: {page}: callgrind failed\n{result.stderr[-2000:]}")
    return int(found.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", metavar="TREE", help="code trees (default: this)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--after-edit", action="store_true")
    pages = (*PAGES, NEW_SEARCHES)
    parser.add_argument("--page", action="append", choices=pages, help="default: every page")
    parser.add_argument("--child", choices=pages, help=argparse.SUPPRESS)
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.root, args.child, args.runs, args.after_edit)
        return
    trees = args.trees or [str(ROOT)]
    print(
        f"{os.environ.get('DATABASE_URL', 'sqlite (default)').split('@')[-1]}, "
        f"{'after an edit' if args.after_edit else 'fragment cache warm'}, "
        f"millions of instructions per request, over {args.runs}"
    )
    print(f"{'page':22} " + " ".join(f"{Path(tree).name:>12}" for tree in trees))
    for page in args.page or (*PAGES, NEW_SEARCHES):
        figures = []
        for tree in trees:
            runs = count(tree, page, args.runs, args.after_edit)
            alone = count(tree, page, 0, args.after_edit)
            figures.append((runs - alone) / args.runs / 1e6)
        print(f"{page:22} " + " ".join(f"{figure:12.1f}" for figure in figures), flush=True)


if __name__ == "__main__":
    main()
