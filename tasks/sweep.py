from __future__ import annotations

from django.utils import timezone

from tracker.monitoring.shards import CLOSE_TASK, SHARD_TASK, sweep_fan_out, sweep_run_close, sweep_shard_run

from .policy import job


@job(name="tracker.sweep")
def run_sweep() -> dict:
    """Beat runs this every TRACKER["SWEEP_EVERY_MINUTES"]: one `tracker.sweep_shard` per shard of schools.
    A retry or a second beat sends nothing twice (every reminder has its unique key)."""
    return sweep_fan_out(now=timezone.now()).as_dict()


@job(name=SHARD_TASK)
def sweep_shard(shard_id: int) -> dict | None:
    return sweep_shard_run(shard_id=shard_id)


@job(name=CLOSE_TASK)
def close_sweep(run_id: int) -> dict | None:
    return sweep_run_close(run_id=run_id)
