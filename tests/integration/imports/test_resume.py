"""An import stopped mid-way, by SIGKILL (a crash) then by SIGINT (Ctrl-C), and run again to the
end: every leaver becomes one alumnus, and no batch was done twice (each chunk is on the topic
once)."""

import asyncio
import json
import signal
import subprocess
from pathlib import Path

from services.offboarding.imports.reading import import_id
from tests.integration.imports.conftest import Imports, leaver, unique
from tests.integration.kafka_io import wait_for

# Small batches: many round trips, so that a stop lands mid-way even when the import runs fast.
ROWS, BATCH_ROWS = 1000, 2


async def stop_after(imports: Imports, command: subprocess.Popen, the_id: str, batches: int, sig: signal.Signals) -> int:
    """Signal the command once offboarding has done `batches` batches of the import; how many were done."""
    for _ in range(1200):
        done = len((await imports.progress(the_id))["batches_done"])
        if done >= batches:
            assert command.poll() is None, "the import ended before it could be stopped"
            command.send_signal(sig)
            command.wait(timeout=30)
            return done
        assert command.poll() is None, command.stderr.read()
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not progress")


async def test_an_import_killed_then_interrupted_resumes_to_each_leaver_once(imports: Imports, tmp_path: Path) -> None:
    run = unique("K")
    path = tmp_path / "leavers.jsonl"
    path.write_text("".join(json.dumps(leaver(f"{run}-{n:04d}", litigation_pending=False)) + "\n" for n in range(ROWS)))
    the_id = import_id(path, BATCH_ROWS)

    killed = imports.command(path, "--batch-rows", str(BATCH_ROWS))
    done_at_kill = await stop_after(imports, killed, the_id, 3, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL and done_at_kill < ROWS // BATCH_ROWS

    interrupted = imports.command(path, "--batch-rows", str(BATCH_ROWS))
    await stop_after(imports, interrupted, the_id, done_at_kill + 3, signal.SIGINT)
    assert interrupted.returncode == 130 and "Run the same command again to resume" in interrupted.stderr.read()
    assert len((await imports.progress(the_id))["batches_done"]) < ROWS // BATCH_ROWS

    finished = imports.command(path, "--batch-rows", str(BATCH_ROWS))
    out, err = await asyncio.to_thread(finished.communicate, timeout=300)
    assert finished.returncode == 0, err
    summary = json.loads(out)
    assert summary["import_id"] == the_id and summary["batches"] == ROWS // BATCH_ROWS
    assert summary["batches_done_before"] >= done_at_kill + 3
    assert summary["counts"] == {"imported": ROWS, "excluded": 0, "erased": 0, "known": 0, "not_departed": 0, "invalid": 0}
    assert "rows 1,000/1,000" in err

    chunks = await wait_for(imports.stack.cfg.bootstrap_servers, "alumni.offboarding.leavers-imported",
                            lambda r: r.key == the_id.encode(), count=ROWS // BATCH_ROWS, timeout=60, settle=2)
    batches = [(c.json()["batch"], c.json()["part"]) for c in chunks]
    assert sorted(batches) == [(n, 0) for n in range(ROWS // BATCH_ROWS)]  # each batch once, never twice
    employee_ids = [f"{run}-{n:04d}" for n in range(ROWS)]
    alumni = await imports.wait_for_alumni(employee_ids, timeout=240)
    assert len({a["_id"] for a in alumni.values()}) == ROWS and all(len(a["stints"]) == 1 for a in alumni.values())
    await imports.wait_projected({a["_id"] for a in alumni.values()}, timeout=240)
