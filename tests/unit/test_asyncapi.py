import json

from shared.tools import asyncapi
from shared.events import registry
from shared.topics import CATALOG


def test_the_committed_catalog_matches_the_code() -> None:
    # Stale? Run `./alumni asyncapi` and commit docs/asyncapi.json.
    assert asyncapi.DOCUMENT.read_text() == asyncapi.render()


def test_every_topic_and_event_is_in_the_catalog_and_every_reference_resolves() -> None:
    document = asyncapi.build_document()
    assert set(document["channels"]) == {t.name for t in CATALOG} | {t.dead_letter for t in CATALOG}
    messages = document["components"]["messages"]
    assert {m["name"] for m in messages.values()} >= {t.type for t in registry}

    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        node = document
        for step in ref.removeprefix("#/").split("/"):
            node = node[step]
    departed = document["components"]["schemas"]["EmployeeDeparted"]["properties"]
    assert departed["personal_email"]["x-personal-data"] is True
    assert "x-personal-data" not in departed["department"]
