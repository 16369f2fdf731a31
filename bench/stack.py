"""Each bench's stack of its own, apart from the running system's and the tests'."""

from dataclasses import replace

from devstack.config import StackConfig


def bench_config(name: str, first_port: int, bulk_apart: bool = False) -> StackConfig:
    """A stack of its own under .stack/<name>, on ports from `first_port` up; notifications in
    one process unless `bulk_apart`."""
    base = StackConfig.from_env()
    return replace(
        base, home=base.home / name, kafka_port=first_port, kafka_controller_port=first_port + 1, mongo_port=first_port + 2,
        http_port_base=first_port + 10, smtp_port=first_port + 20, sink_http_port=first_port + 21, zipkin_port=first_port + 22,
        bulk_apart=bulk_apart,
    )
