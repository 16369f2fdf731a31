"""The topic catalog as Strimzi KafkaTopics: plain dictionaries, from shared/topics.py."""

from devstack.k8s_objects import PART_OF
from shared.topics import CATALOG, DEAD_LETTER_PARTITIONS


def kafka_topics(cluster: str = "alumni") -> list[dict]:
    """The catalog as Strimzi KafkaTopics (kafka.strimzi.io/v1), dead-letter twins included."""
    topics = []
    for topic in CATALOG:
        for name, partitions, retention_days in (
            (topic.name, topic.partitions, 7),
            (topic.dead_letter, DEAD_LETTER_PARTITIONS, 30),  # read rarely, replayed by an operator
        ):
            topics.append({
                "apiVersion": "kafka.strimzi.io/v1",
                "kind": "KafkaTopic",
                "metadata": {"name": name, "labels": {"strimzi.io/cluster": cluster, "app.kubernetes.io/part-of": PART_OF}},
                "spec": {
                    "topicName": name,
                    "partitions": partitions,
                    "replicas": 3,
                    "config": {"retention.ms": str(retention_days * 86_400_000), "min.insync.replicas": "2"},
                },
            })
    return topics
