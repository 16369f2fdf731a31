"""List and replay dead letters.

    python -m shared.tools.dlq list hris.employee.departed
    python -m shared.tools.dlq replay hris.employee.departed --offset 3 --offset 7
    python -m shared.tools.dlq replay hris.employee.departed --error SchemaViolation
    python -m shared.tools.dlq replay hris.employee.departed --all [--dry-run]

(`./alumni dlq ...` runs the same against the local stack.) The topic is the original one or
its `.dlq` twin. Replay sends each selected record back to its original topic with its own
key, value and headers, plus `dlq_replayed_from`; consumers drop what they handled already.
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.messaging import deadletters as dl
from shared.messaging.kafka_security import KafkaSecurity
from shared.settings import ServiceSettings
from shared.topics import dead_letter_topic


@dataclass(frozen=True)
class DeadLetter:
    offset: int  # in the dead-letter topic
    record: ConsumerRecord

    def header(self, name: str) -> str:
        for key, value in self.record.headers:
            if key == name:
                return value.decode(errors="replace")
        return ""

    @property
    def original_topic(self) -> str:
        return self.header(dl.ORIGINAL_TOPIC)


def _security() -> dict:
    """The same Kafka security settings as the services (KAFKA_SECURITY_PROTOCOL, ...)."""
    return KafkaSecurity.from_settings(ServiceSettings()).for_aiokafka()


async def read_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Every record of a dead-letter topic, from its beginning to its current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **_security())
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise SystemExit(f"dlq: no topic {topic!r} on {bootstrap}")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        letters: list[DeadLetter] = []
        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in assigned])

        while await behind():
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                letters += [DeadLetter(r.offset, r) for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)]]
        return sorted(letters, key=lambda d: (d.record.partition, d.offset))
    finally:
        await consumer.stop()


def select(letters: Sequence[DeadLetter], *, offsets: Sequence[int] = (), errors: Sequence[str] = (), everything: bool = False) -> list[DeadLetter]:
    if everything:
        return list(letters)
    return [d for d in letters if d.offset in offsets or d.header(dl.ERROR_CLASS) in errors]


async def original_value(bootstrap: str, letter: DeadLetter) -> bytes | None:
    """The value of a dead letter written without it: read back from the original topic, if the
    record is still retained there."""
    partition = TopicPartition(letter.original_topic, int(letter.header(dl.ORIGINAL_PARTITION)))
    offset = int(letter.header(dl.ORIGINAL_OFFSET))
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **_security())
    await consumer.start()
    try:
        consumer.assign([partition])
        consumer.seek(partition, offset)
        records = (await consumer.getmany(partition, timeout_ms=5000, max_records=1)).get(partition, [])
        return records[0].value if records and records[0].offset == offset else None
    finally:
        await consumer.stop()


async def replay(bootstrap: str, letters: Sequence[DeadLetter]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, max_request_size=2 * 1024 * 1024, **_security())
    await producer.start()
    try:
        sends = []
        for letter in letters:
            record, value = letter.record, letter.record.value
            if letter.header(dl.VALUE_OMITTED):
                value = await original_value(bootstrap, letter)
                if value is None:
                    print(f"offset {letter.offset}: its value was omitted and the original is no longer retained: not replayed")
                    continue
            headers = [(k, v) for k, v in record.headers if not k.startswith(dl.PREFIX)]
            headers.append((dl.REPLAYED_FROM, f"{record.topic}:{letter.offset}".encode()))
            sends.append(await producer.send(letter.original_topic, value, key=record.key, headers=headers))
        await asyncio.gather(*sends)
        return len(sends)
    finally:
        await producer.stop()


def _print_table(letters: Sequence[DeadLetter]) -> None:
    print(f"{'offset':>6}  {'original':<40}  {'attempts':>8}  {'error':<20}  {'failed at':<32}  message")
    for d in letters:
        original = f"{d.original_topic}[{d.header(dl.ORIGINAL_PARTITION)}]@{d.header(dl.ORIGINAL_OFFSET)}"
        print(
            f"{d.offset:>6}  {original:<40}  {d.header(dl.ATTEMPTS):>8}  {d.header(dl.ERROR_CLASS):<20}  "
            f"{d.header(dl.FAILED_AT):<32}  {d.header(dl.ERROR_MESSAGE)[:160]}"
        )
    print(f"{len(letters)} dead letter(s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dlq", description="List and replay dead letters.")
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="show the dead letters of a topic")
    listing.add_argument("topic")
    again = sub.add_parser("replay", help="send dead letters back to their original topic")
    again.add_argument("topic")
    again.add_argument("--offset", type=int, action="append", default=[], help="a dead letter's offset (repeatable)")
    again.add_argument("--error", action="append", default=[], help="every dead letter of this error class (repeatable)")
    again.add_argument("--all", action="store_true", help="every dead letter of the topic")
    again.add_argument("--dry-run", action="store_true", help="show what would be replayed")
    args = parser.parse_args(argv)

    letters = asyncio.run(read_dead_letters(args.bootstrap_servers, dead_letter_topic(args.topic)))
    if args.command == "list":
        _print_table(letters)
        return 0
    if not (args.offset or args.error or args.all):
        parser.error("replay needs --offset, --error or --all")
    chosen = select(letters, offsets=args.offset, errors=args.error, everything=args.all)
    _print_table(chosen)
    if args.dry_run:
        print("dry run: nothing replayed")
        return 0
    sent = asyncio.run(replay(args.bootstrap_servers, chosen))
    print(f"replayed {sent} record(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
