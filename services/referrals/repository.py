"""The referrals service's collections: none yet (the service is being built)."""

COLLECTIONS: tuple[str, ...] = ()
