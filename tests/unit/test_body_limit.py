"""Request bodies are bounded before anything reads them: a declared length over the bound is
refused before the handler runs, a body streamed in chunks is cut off as it passes the bound;
the rest is read and dropped up to DRAIN_BYTES (so that the client reads its 413), not past it."""

import httpx
from fastapi import FastAPI, Request

from shared.web.limits import DRAIN_BYTES, BodySizeLimit

LIMIT = 1024


def app() -> FastAPI:
    api = FastAPI()
    api.state.read = 0

    @api.post("/echo")
    async def echo(request: Request) -> dict:
        body = await request.body()
        api.state.read += 1
        return {"bytes": len(body)}

    api.add_middleware(BodySizeLimit, max_bytes=LIMIT)
    return api


async def post(api: FastAPI, content, headers: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as client:
        return await client.post("/echo", content=content, headers=headers)


def counted(sent: list, chunks: int, size: int = 1000):
    async def body():
        for _ in range(chunks):
            sent.append(1)
            yield b"y" * size
    return body()


async def test_a_body_within_the_bound_is_read() -> None:
    response = await post(app(), b"x" * LIMIT)
    assert response.status_code == 200 and response.json() == {"bytes": LIMIT}


async def test_a_declared_length_over_the_bound_is_refused_before_the_handler_runs() -> None:
    api = app()
    response = await post(api, b"x" * (LIMIT + 1))
    assert response.status_code == 413 and str(LIMIT) in response.json()["detail"]
    assert api.state.read == 0


async def test_a_streamed_body_is_cut_off_as_it_passes_the_bound_and_drained_no_further_than_the_drain_bound() -> None:
    sent: list = []
    api = app()
    response = await post(api, counted(sent, 2 * DRAIN_BYTES // 1000))  # 8 MB, were it read whole
    assert response.status_code == 413 and api.state.read == 0
    assert DRAIN_BYTES // 1000 <= len(sent) <= DRAIN_BYTES // 1000 + 3


async def test_a_declared_length_over_the_drain_bound_is_refused_without_reading_it() -> None:
    sent: list = []
    response = await post(app(), counted(sent, 5000), headers={"Content-Length": str(DRAIN_BYTES + 1)})
    assert response.status_code == 413 and len(sent) <= 1


async def test_a_declared_length_under_the_drain_bound_is_read_to_its_end_before_the_413() -> None:
    sent: list = []
    api = app()
    response = await post(api, counted(sent, 100), headers={"Content-Length": str(100 * 1000)})
    assert response.status_code == 413 and api.state.read == 0 and len(sent) == 100


async def test_a_path_with_a_bound_of_its_own_takes_more_and_no_more() -> None:
    api = FastAPI()

    @api.post("/imports/x")
    async def batch(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    @api.post("/other")
    async def other(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    api.add_middleware(BodySizeLimit, max_bytes=LIMIT, by_path={"/imports/": 4 * LIMIT})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as client:
        assert (await client.post("/imports/x", content=b"x" * (4 * LIMIT))).status_code == 200
        refused = await client.post("/imports/x", content=b"x" * (4 * LIMIT + 1))
        assert refused.status_code == 413 and str(4 * LIMIT) in refused.json()["detail"]
        assert (await client.post("/other", content=b"x" * (LIMIT + 1))).status_code == 413
