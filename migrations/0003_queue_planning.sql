-- Plans for the job table that do not depend on how many jobs happened to be running when it was
-- last analysed.
--
-- A queue's state column changes faster than ANALYZE follows it. Analysed while every job was
-- pending (right after a burst of submits), the statistics say no job is running, and the fenced
-- completion (id = ANY … AND state = 'running') was planned as a scan of "the one running job"
-- joined in a nested loop to the batch: once thousands of jobs were running, each batch of 500
-- completions compared millions of pairs and throughput fell from ~13,000 to under 1,000 jobs/s.
-- Without statistics on state the planner assumes a small fixed share per state, which keeps
-- completions on the primary key (or on a hash join for very large batches) and claims on
-- kronos_jobs_claim, whatever the table looked like at the last ANALYZE. (Statistics gathered
-- before this migration stay until the column's statistics are reset; fresh databases have none.)
ALTER TABLE kronos_jobs ALTER COLUMN state SET STATISTICS 0;

-- The lease index was partial on state = 'running', so every statement naming that state could
-- walk it, rechecking every entry left behind by earlier claims (dead until vacuum). Keyed on the
-- lease itself, only the reaper (lease_expires_at < now()) uses it; the others take the primary key.
-- The new index holds only running jobs, so building it is quick even on a large table (it still
-- blocks writes to kronos_jobs while it reads the table once).
DROP INDEX kronos_jobs_lease;
CREATE INDEX kronos_jobs_lease ON kronos_jobs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
