"""The import API, for HR's operators (`alumni:admin`):

- `POST /imports/{import_id}/batches/{n}` `{"rows": [{"line", "record"}]}`: one batch of the file
  (at most 1,000 rows; the body at most IMPORT_MAX_BATCH_BYTES), each record an
  `employee.departed.v1` payload with its line in the file. 200 with what became of each row;
  a batch done already is answered as it was (`"replayed": true`) and changes nothing.
- `GET /imports/{import_id}`: the batches done and their counts added up (resuming starts there).
- `GET /imports/{import_id}/batches/{n}`: one batch's answer again (404 until it is done).

`import_id` is the client's (the command derives it from the file's content), letters, digits,
`-` and `_`, 8 to 64 of them.
"""

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.offboarding.dependencies import Dependencies
from services.offboarding.imports.batches import answer, import_batch, progress, read_row
from services.offboarding.imports.repository import BatchDoneMeanwhile
from shared.events.offboarding import MAX_IMPORT_CHUNK
from shared.messaging.failures import Contended
from shared.messaging.uow import UnitOfWork
from shared.web.auth import Principal, requires

ADMIN = "alumni:admin"
IMPORT_ID = r"^[A-Za-z0-9_-]{8,64}$"
MAX_BATCHES = 100_000  # 100 million rows
ATTEMPTS = 3


class BatchRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int = Field(ge=1, le=1_000_000_000)
    record: dict[str, Any]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[BatchRow] = Field(min_length=1, max_length=MAX_IMPORT_CHUNK)


def _batch(body: bytes) -> Batch:
    try:
        batch = Batch.model_validate(json.loads(body))
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ValidationError):
            errors = [{"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
                      for e in exc.errors(include_input=False, include_url=False, include_context=False)][:20]
            raise HTTPException(422, {"message": "the batch breaks its format", "errors": errors}) from None
        raise HTTPException(422, "the body is not JSON (or is nested too deep)") from None
    if len({row.line for row in batch.rows}) != len(batch.rows):
        raise HTTPException(422, "a line number appears twice in the batch")
    return batch


def import_router(deps: Dependencies) -> APIRouter:
    router = APIRouter(prefix="/imports", tags=["imports"])
    import_id_path = Path(pattern=IMPORT_ID)

    @router.post("/{import_id}/batches/{number}", summary="Import one batch of historic leavers (done once, replays change nothing)")
    async def post_batch(
        request: Request, import_id: str = import_id_path, number: int = Path(ge=0, lt=MAX_BATCHES),
        _: Principal = Depends(requires(ADMIN)),
    ) -> dict:
        rows = [read_row(row.line, row.record) for row in _batch(await request.body()).rows]

        async def work(uow: UnitOfWork) -> dict:
            return await import_batch(uow, deps, import_id, number, rows)

        for attempt in range(ATTEMPTS):
            try:
                return await request.app.state.runtime.transactions.run(work)
            except (BatchDoneMeanwhile, Contended):
                await asyncio.sleep(0.2 * (attempt + 1))  # then answered as a replay, or done once the other one is
        raise HTTPException(503, "the batch is being done by another request: try again", headers={"Retry-After": "2"})

    @router.get("/{import_id}", summary="The batches of an import done, and their counts")
    async def get_import(request: Request, import_id: str = import_id_path, _: Principal = Depends(requires(ADMIN))) -> dict:
        async def read(uow: UnitOfWork) -> dict:
            return await progress(uow, deps, import_id)

        return await request.app.state.runtime.transactions.run(read)

    @router.get("/{import_id}/batches/{number}", summary="One batch's answer, once it is done")
    async def get_batch(
        request: Request, import_id: str = import_id_path, number: int = Path(ge=0, lt=MAX_BATCHES),
        _: Principal = Depends(requires(ADMIN)),
    ) -> dict:
        async def read(uow: UnitOfWork) -> dict | None:
            return await deps.import_batches(uow).get(import_id, number)

        done = await request.app.state.runtime.transactions.run(read)
        if done is None:
            raise HTTPException(404, f"batch {number} of import {import_id} is not done")
        return answer(import_id, number, done, replayed=True)

    return router
