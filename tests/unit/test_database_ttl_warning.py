"""The launcher tells whoever starts a local database that its TTL monitor will stall it
(docs/secantusdb-ttl-monitor.md), and by how much, once the TTL-indexed collections are large."""

from devstack.database import TTL_STALL_DOCUMENTS, ttl_stall_warning


def test_a_small_store_says_nothing() -> None:
    assert ttl_stall_warning(0) is None
    assert ttl_stall_warning(TTL_STALL_DOCUMENTS) is None


def test_a_large_store_says_how_long_it_will_stall_and_how_to_start_afresh() -> None:
    warning = ttl_stall_warning(500_000)
    assert "500,000 documents" in warning and "about 20 s once a minute" in warning
    assert "remove .stack/mongo" in warning and "docs/secantusdb-ttl-monitor.md" in warning
