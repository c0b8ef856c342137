"""Background jobs: one lifecycle for a Job row and one way to queue work. Knows no app.

- `lifecycle`: a Job's life (claim, start, heartbeat, progress, success, failure) and the
  watchdog that ends the jobs whose worker died;
- `outbox`: `enqueue`, the one way to queue a task (an outbox row in the caller's transaction,
  published after commit, drained again while the broker is down);
- `tasks`: the periodic tasks of this machinery (the watchdog, the outbox drain);
- `beat`: the single-beat scheduler; `crontab`: beat's schedules in words.

Apps import the public names from here (`from kongchuo.jobs import JobRun, enqueue`).
"""

from kongchuo.jobs.lifecycle import (
    STALLED_MESSAGE,
    Heartbeat,
    JobRefused,
    JobRun,
    job_claim,
    job_execute,
    job_fail,
    job_requeue,
    jobs_fail_stalled,
    watchdog_register,
)
from kongchuo.jobs.outbox import enqueue

__all__ = ["STALLED_MESSAGE", "Heartbeat", "JobRefused", "JobRun", "enqueue", "job_claim", "job_execute",
           "job_fail", "job_requeue", "jobs_fail_stalled", "watchdog_register"]
