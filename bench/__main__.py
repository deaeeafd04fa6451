"""``python -m bench [NAME] [options]``: NAME one of all, credentials, imports, bulk, webhooks,
tiers, server, client, usage, pages.

The benchmarks. Without a name, all of them run.

Options after the benchmark's name go to that benchmark (``python -m bench imports --rows
1000``); ``all`` runs each with its defaults.
"""

import sys

from bench import (
    bulk_issue_bench,
    client_bench,
    credentials_bench,
    import_bench,
    pages_bench,
    server_bench,
    tiers_bench,
    usage_bench,
    webhook_bench,
)

BENCHMARKS = {
    "credentials": credentials_bench.main,
    "imports": import_bench.main,
    "bulk": bulk_issue_bench.main,
    "webhooks": webhook_bench.main,
    "tiers": tiers_bench.main,
    "server": server_bench.main,
    "client": client_bench.main,
    "usage": usage_bench.main,
    "pages": pages_bench.main,
}


def main(argv: list[str]) -> None:
    """Run the named benchmark, or all of them."""
    if argv and argv[0] in {"-h", "--help"}:
        print(__doc__)
        return
    name = argv[0] if argv and not argv[0].startswith("-") else "all"
    rest = argv[1:] if argv and argv[0] == name else argv
    if name == "all":
        for run in BENCHMARKS.values():
            run(rest)
        return
    if name not in BENCHMARKS:
        raise SystemExit(f"unknown benchmark {name!r}; choose from all, {', '.join(BENCHMARKS)}")
    BENCHMARKS[name](rest)


if __name__ == "__main__":
    main(sys.argv[1:])
