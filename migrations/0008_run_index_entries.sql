-- Index entries that no query reads, paid by every run when it starts and again when it finishes
-- (the finishing update changes indexed columns, so it writes an entry in every index whose
-- predicate the new row version meets).
--
-- Idempotency keys are optional and most runs have none: the unique constraint indexed every run's
-- NULL. Only keyed runs are indexed now; ON CONFLICT names the same predicate.
ALTER TABLE kronos_runs DROP CONSTRAINT kronos_runs_idempotency_key_key;
CREATE UNIQUE INDEX kronos_runs_idempotency ON kronos_runs (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Listing by status needs an index for the rare statuses (running, failed, cancelled). Completed
-- runs are most runs: a newest-first walk of kronos_runs_recent finds them at once, so finishing a
-- run no longer adds an entry here.
DROP INDEX kronos_runs_by_status;
CREATE INDEX kronos_runs_by_status ON kronos_runs (status, created_at DESC, id DESC) WHERE status <> 'completed';
