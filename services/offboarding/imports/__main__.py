"""`python -m services.offboarding.imports FILE --url https://offboarding.example` (the operator's
command; on one machine, `./alumni import FILE`). The bearer token (`alumni:admin`) comes from
`--token-file` or the ALUMNI_TOKEN variable, never from the command line, where other users of
the machine could read it."""

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from pathlib import Path

from services.offboarding.imports.client import ImportRefused, run_import
from services.offboarding.imports.reading import ROWS_PER_BATCH, FileRefused


def parser(prog: str = "python -m services.offboarding.imports") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Import historic leavers (employee.departed.v1 records) as alumni, with no exit form and no welcome.")
    p.add_argument("file", type=Path, help="CSV with a header row of the contract's fields, or JSON lines (.jsonl)")
    p.add_argument("--format", choices=("csv", "jsonl"), help="when the file's name does not tell")
    p.add_argument("--report", type=Path, help="where the rows not imported are listed (default: FILE.import-report.jsonl)")
    p.add_argument("--batch-rows", type=int, default=ROWS_PER_BATCH, choices=range(1, ROWS_PER_BATCH + 1), metavar=f"1..{ROWS_PER_BATCH}",
                   help=f"rows per batch (default {ROWS_PER_BATCH}); a file is resumed with the batches it was started with")
    return p


def run(args: argparse.Namespace, url: str, token: str) -> int:
    if not args.file.is_file():
        print(f"import: {args.file} is not a file", file=sys.stderr)
        return 2
    # Ctrl-C sets a flag the import reads between batches, rather than cancelling whatever request
    # is in flight (a cancellation could be lost in the HTTP client, and the import went on).
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        summary = asyncio.run(run_import(args.file, url=url, token=token, kind=args.format, report=args.report, batch_rows=args.batch_rows, stop=stop))
    except (FileRefused, ImportRefused) as exc:
        print(f"import: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("import: interrupted; the batches sent are done. Run the same command again to resume.", file=sys.stderr)
        return 130
    counts = summary["counts"]
    print(json.dumps(summary, indent=2))
    not_imported = sum(n for k, n in counts.items() if k != "imported")
    print(f"import: {counts.get('imported', 0):,} leavers imported, {not_imported:,} rows not imported (listed in {summary['report']}); "
          "identity registers them as it reads the chunks.", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = parser()
    p.add_argument("--url", default=os.environ.get("OFFBOARDING_URL"), help="offboarding's base URL (or OFFBOARDING_URL)")
    p.add_argument("--token-file", type=Path, help="a file holding the bearer token (else ALUMNI_TOKEN)")
    args = p.parse_args(argv)
    token = args.token_file.read_text().strip() if args.token_file else os.environ.get("ALUMNI_TOKEN", "")
    if not args.url or not token:
        p.error("offboarding's URL (--url) and a token (--token-file or ALUMNI_TOKEN) are needed")
    return run(args, args.url, token)


if __name__ == "__main__":
    raise SystemExit(main())
