import asyncio

import httpx
from fastapi import FastAPI

from shared.web.health import health_router


async def _ok() -> bool:
    return True


async def _unreachable() -> bool:
    return False


async def _raises() -> bool:
    raise ConnectionError("refused")


async def _hangs() -> bool:
    await asyncio.sleep(60)
    return True


async def _get(path: str, **checks) -> httpx.Response:
    app = FastAPI()
    app.include_router(health_router(checks))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://service") as client:
        return await client.get(path)


async def test_ready_when_every_check_passes() -> None:
    response = await _get("/health/ready", kafka=_ok, mongodb=_ok)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"kafka": "ok", "mongodb": "ok"}}


async def test_not_ready_names_the_failing_dependency() -> None:
    response = await _get("/health/ready", kafka=_ok, mongodb=_raises, other=_unreachable)
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "kafka": "ok",
        "mongodb": "error: ConnectionError",
        "other": "unreachable",
    }


async def test_a_hanging_check_times_out_instead_of_hanging_the_probe() -> None:
    response = await _get("/health/ready", kafka=_hangs)
    assert response.status_code == 503
    assert response.json()["checks"] == {"kafka": "error: TimeoutError"}


async def test_live_answers_even_when_dependencies_are_down() -> None:
    assert (await _get("/health/live", kafka=_raises)).status_code == 200
