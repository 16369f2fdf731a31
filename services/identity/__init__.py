"""The identity service: Alumni master records and the consent ledger."""
