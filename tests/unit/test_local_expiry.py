"""Which indexes the local database's expiry pass (devstack/secantusd.py) expires by, and what it
takes: mongod's rules, so that the services' TTL indexes mean the same here and on MongoDB."""

from datetime import UTC, datetime, timedelta

from devstack.secantusd import expired, ttl_rules

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def test_only_single_field_indexes_with_a_numeric_expiry_expire() -> None:
    indexes = [
        {"name": "_id_", "key": {"_id": 1}},
        {"name": "processed_at_1", "key": {"processed_at": 1}, "expireAfterSeconds": 2_592_000},
        {"name": "expires_at_1", "key": {"expires_at": 1}, "expireAfterSeconds": 0},
        {"name": "plain", "key": {"status": 1}},
        {"name": "compound", "key": {"a": 1, "b": 1}, "expireAfterSeconds": 60},
        {"name": "by_id", "key": {"_id": 1}, "expireAfterSeconds": 60},
        {"name": "hashed", "key": {"h": "hashed"}, "expireAfterSeconds": 60},
        {"name": "flag", "key": {"f": 1}, "expireAfterSeconds": True},
        {"name": "negative", "key": {"n": 1}, "expireAfterSeconds": -1},
        {"name": "text", "key": {"t": 1}, "expireAfterSeconds": "60"},
    ]
    assert list(ttl_rules(indexes)) == [("processed_at", 2_592_000.0, None), ("expires_at", 0.0, None)]


def test_a_partial_index_expires_only_what_it_covers() -> None:
    [rule] = ttl_rules([{"key": {"at": 1}, "expireAfterSeconds": 60, "partialFilterExpression": {"status": "done"}}])
    assert rule == ("at", 60.0, {"status": "done"})
    assert expired(*rule, NOW) == {"$and": [{"at": {"$lt": NOW - timedelta(seconds=60)}}, {"status": "done"}]}


def test_the_cutoff_is_now_less_the_expiry() -> None:
    assert expired("expires_at", 0.0, None, NOW) == {"expires_at": {"$lt": NOW}}
    assert expired("processed_at", 86400.0, None, NOW) == {"processed_at": {"$lt": NOW - timedelta(days=1)}}
