"""Importing historic leavers: an operator's file of `employee.departed.v1` records, sent in
batches that offboarding sorts by its own rules, each batch once.

- `rules.py`: how the rows of a batch are sorted, without I/O
- `repository.py`: the batches done (`import_batches`)
- `batches.py`: one batch in one transaction, and the import's progress
- `api.py`: `POST /imports/{import_id}/batches/{n}`, `GET /imports/{import_id}`
- `reading.py`, `client.py`, `__main__.py`: the operator's command,
  `python -m services.offboarding.imports FILE --url URL`
"""
