"""`./alumni` subcommands: up, down, status, topics, test."""

import argparse
import asyncio
import logging
import os
import subprocess
import sys

from devstack.config import ROOT, StackConfig
from devstack.errors import StackError
from devstack.kafka import KafkaNode
from devstack.stack import LocalStack
from devstack.zipkin import ZipkinNode
from shared.topics import topic_partitions


def _print_status(stack: LocalStack) -> None:
    rows = stack.status()
    width = max(len(r[0]) for r in rows)
    for name, state, address in rows:
        print(f"  {name:<{width}}  {state:<22}  {address}")
    print(f"  data and logs: {stack.cfg.home}")


def cmd_up(args: argparse.Namespace) -> int:
    stack = LocalStack(StackConfig.from_env())
    if args.infra_only:
        asyncio.run(stack.up_infrastructure())
    else:
        asyncio.run(stack.up())
    _print_status(stack)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stack = LocalStack(StackConfig.from_env())
    stack.down()
    _print_status(stack)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    stack = LocalStack(StackConfig.from_env())
    _print_status(stack)
    return 0 if all(state.startswith("running") for _, state, _ in stack.status()) else 3


def cmd_topics(args: argparse.Namespace) -> int:
    """Create the catalog's topics on any broker (used by docker-compose's init container)."""
    from devstack.kafka import ensure_topics

    changes = asyncio.run(ensure_topics(args.bootstrap_servers, topic_partitions()))
    print("\n".join(changes) or "every topic of the catalog exists")
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from shared.tools import dlq

    return dlq.main(["--bootstrap-servers", StackConfig.from_env().bootstrap_servers, *args.dlq_args])


def cmd_asyncapi(args: argparse.Namespace) -> int:
    from shared.tools import asyncapi

    return asyncapi.main(args.asyncapi_args)


def cmd_demo(args: argparse.Namespace) -> int:
    from devstack import demo

    cfg = StackConfig.from_env()
    stack = LocalStack(cfg)
    if not all(state.startswith("running") for _, state, _ in stack.status()):
        raise StackError("the system is not running: start it with ./alumni up")
    return demo.run(cfg, regenerate=args.regenerate, seed=args.seed, count=args.count)


def cmd_manifests(args: argparse.Namespace) -> int:
    from devstack import manifests

    return manifests.main(args.manifests_args)


def cmd_trace(args: argparse.Namespace) -> int:
    from devstack import trace

    return trace.main(ZipkinNode(StackConfig.from_env()).url, args.identifier)


# `./alumni bench <part>`: the company-scale measures, each on a stack of its own.
BENCH_PARTS = ("imports", "fanout", "store", "directory")


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    if args.bench_args and args.bench_args[0] in BENCH_PARTS:
        return importlib.import_module(f"bench.{args.bench_args[0]}").cli(args.bench_args[1:])
    from bench import pipeline

    return pipeline.cli(args.bench_args)


def _local_token(subject: str, scopes: list[str], ttl: int) -> str:
    """A token for the local services, signed with the development secret (or AUTH_JWT_SECRET)."""
    from shared.web.auth import TokenVerifier
    from shared.settings import DEVELOPMENT_JWT_SECRET

    if os.environ.get("AUTH_JWKS_URL"):
        print("AUTH_JWKS_URL is set: services checking tokens against it refuse this HS256 token; ask the identity provider", file=sys.stderr)
    return TokenVerifier(os.environ.get("AUTH_JWT_SECRET", DEVELOPMENT_JWT_SECRET)).issue(subject, scopes, ttl)


def cmd_token(args: argparse.Namespace) -> int:
    """A bearer token for the local services, as the identity provider would issue it."""
    subject = f"alumnus:{args.alumnus}" if args.alumnus else args.subject
    print(_local_token(subject, ["alumni:self"] if args.alumnus else args.scope, args.ttl))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """An import of historic leavers into the local system (or, with --url and --token, another)."""
    from services.offboarding.imports.__main__ import run

    cfg = StackConfig.from_env()
    if not args.url and not LocalStack(cfg).services["offboarding"].running():
        raise StackError("offboarding is not running: start the system with ./alumni up (or give --url and --token)")
    url = args.url or f"http://127.0.0.1:{cfg.service_ports()['offboarding']}"
    return run(args, url, args.token or _local_token("local-operator", ["alumni:admin"], 4 * 3600))


def cmd_test(args: argparse.Namespace) -> int:
    # Fetch the Kafka jars and the trace store before pytest starts, so its output is only the tests'.
    test_stack = StackConfig.from_env().for_tests()
    KafkaNode(test_stack).ensure_jars()
    ZipkinNode(test_stack).ensure_jar()
    code = subprocess.call([sys.executable, "-m", "pytest", *args.pytest_args], cwd=ROOT)
    if code == 5:
        if args.pytest_args:
            print("alumni test: no test matched the selection given.")
            return 0
        print("alumni test: pytest collected no tests; the suite is never empty, so this is a failure.")
        return 1
    return code


PASS_THROUGH = {
    "test": "pytest_args", "dlq": "dlq_args", "asyncapi": "asyncapi_args", "bench": "bench_args", "manifests": "manifests_args",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alumni", description="Run, test and operate the alumni platform locally.")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start Kafka, the database and the five services (no-op for what runs)")
    up.add_argument("--infra-only", action="store_true", help="start Kafka and the database only")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop what `up` started; data is kept").set_defaults(func=cmd_down)
    sub.add_parser("status", help="show what runs and where").set_defaults(func=cmd_status)
    topics = sub.add_parser("topics", help="create the catalog's topics on a broker")
    topics.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    topics.set_defaults(func=cmd_topics)
    dead = sub.add_parser("dlq", help="list or replay dead letters on the local stack (see `dlq --help`)", add_help=False)
    dead.add_argument("dlq_args", nargs=argparse.REMAINDER)
    dead.set_defaults(func=cmd_dlq)
    catalog = sub.add_parser("asyncapi", help="regenerate docs/asyncapi.json from the code (--check: compare only)")
    catalog.add_argument("asyncapi_args", nargs=argparse.REMAINDER)
    catalog.set_defaults(func=cmd_asyncapi)
    manifests = sub.add_parser("manifests", help="regenerate deploy/k8s/base/generated from the code (--check: compare only)")
    manifests.add_argument("manifests_args", nargs=argparse.REMAINDER)
    manifests.set_defaults(func=cmd_manifests)
    traced = sub.add_parser("trace", help="print the traces of an employee id, alumnus id or event id, from the local trace store")
    traced.add_argument("identifier")
    traced.set_defaults(func=cmd_trace)
    demo = sub.add_parser("demo", help="replay a sample HRIS export into the running system and summarise")
    demo.add_argument("--regenerate", action="store_true", help="write a new deploy/demo/hris-export.jsonl first")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--count", type=int, default=300)
    demo.set_defaults(func=cmd_demo)
    bench = sub.add_parser("bench", help="benchmark the pipeline against a hand-written baseline (see bench/pipeline.py); `bench imports|fanout|store|directory`: the company-scale measures", add_help=False)
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    token = sub.add_parser("token", help="print a bearer token for the local APIs")
    token.add_argument("--scope", action="append", default=[], help="alumni:read|write|admin, referrals:read|write|admin, events:read|write|admin (repeatable)")
    token.add_argument("--subject", default="local-operator")
    token.add_argument("--alumnus", help="an alumnus's own token (scope alumni:self) for this alumnus id")
    token.add_argument("--ttl", type=int, default=3600, help="seconds")
    token.set_defaults(func=cmd_token)
    from services.offboarding.imports.__main__ import parser as import_parser

    imported = sub.add_parser("import", parents=[import_parser()], add_help=False, conflict_handler="resolve",
                              help="import a file of historic leavers (CSV or JSON lines) as alumni, with progress; resumable")
    imported.add_argument("--url", help="offboarding's base URL (default: the local system's)")
    imported.add_argument("--token", help="a bearer token with alumni:admin (default: one for the local system)")
    imported.set_defaults(func=cmd_import)
    test = sub.add_parser("test", help="run the whole test suite (starts the test stack it needs)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")
    test.set_defaults(func=cmd_test)

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASS_THROUGH:
        # Everything after these commands belongs to the tool behind them (pytest, dlq, ...):
        # argparse's REMAINDER would refuse a first argument such as `-m`.
        args = parser.parse_args(argv[:1])
        setattr(args, PASS_THROUGH[argv[0]], argv[1:])
    else:
        args = parser.parse_args(argv)
    # aiokafka logs every refused connection while the launcher polls a starting broker.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return args.func(args)
    except StackError as exc:
        print(f"alumni: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
