from shared.topics import CATALOG, DEAD_LETTER_PARTITIONS, topic_partitions


def test_every_topic_has_a_dead_letter_twin_with_one_partition() -> None:
    wanted = topic_partitions()
    assert len(wanted) == 2 * len(CATALOG)
    for topic in CATALOG:
        assert wanted[topic.name] == topic.partitions >= 1
        assert wanted[f"{topic.name}.dlq"] == DEAD_LETTER_PARTITIONS


def test_topic_names_are_unique_and_follow_the_naming() -> None:
    names = [t.name for t in CATALOG]
    assert len(names) == len(set(names))
    assert all(n.split(".")[0] in {"hris", "alumni", "ats"} and n.count(".") == 2 for n in names)
