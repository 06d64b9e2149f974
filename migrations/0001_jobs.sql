-- The job queue: every background job, plain or workflow step, is one row here.
CREATE TABLE kronos_jobs (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type             text NOT NULL CHECK (type <> '' AND length(type) <= 200),
  payload          jsonb NOT NULL DEFAULT 'null',
  priority         smallint NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
  state            text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'running', 'completed', 'dead', 'cancelled')),
  run_at           timestamptz NOT NULL DEFAULT now(),
  attempt          integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_retries      integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 1000),
  timeout_ms       integer CHECK (timeout_ms > 0),
  idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 500),
  lease_owner      text,
  lease_expires_at timestamptz,
  result           jsonb,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  -- A running job always has a lease; nothing else has one.
  CHECK ((state = 'running') = (lease_expires_at IS NOT NULL AND lease_owner IS NOT NULL)),
  CHECK ((state IN ('completed', 'dead', 'cancelled')) = (finished_at IS NOT NULL))
);

-- Hot query: jobs.claim (state = 'pending' ORDER BY priority DESC, run_at, id ... SKIP LOCKED).
CREATE INDEX kronos_jobs_claim ON kronos_jobs (priority DESC, run_at, id) WHERE state = 'pending';
-- Hot query: jobs.reapExpired (running jobs whose lease ran out).
CREATE INDEX kronos_jobs_lease ON kronos_jobs (lease_expires_at) WHERE state = 'running';
-- jobs.submit: one unfinished job per idempotency key; a finished one frees the key.
CREATE UNIQUE INDEX kronos_jobs_idempotency ON kronos_jobs (idempotency_key)
  WHERE idempotency_key IS NOT NULL AND state IN ('pending', 'running');
-- jobs.list with state = 'dead' (the dead-letter queue), newest first. Other listings walk the
-- primary key backwards; no index covers every state, because each index on this table is paid
-- for on every claim and completion (non-HOT updates).
CREATE INDEX kronos_jobs_dead ON kronos_jobs (id DESC) WHERE state = 'dead';

-- A queue table churns: analyse and vacuum it far more often than the defaults (10–20% of rows),
-- so claims keep their index-ordered plan after a burst of inserts.
ALTER TABLE kronos_jobs SET (autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 500,
  autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);

-- Wake schedulers when jobs are inserted: one notification per statement, delivered at commit.
CREATE FUNCTION kronos_notify_job_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('kronos_jobs', '');
  RETURN NULL;
END $$;
CREATE TRIGGER kronos_jobs_inserted AFTER INSERT ON kronos_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION kronos_notify_job_inserted();

-- Recurring jobs. next_run_at is advanced by compare-and-set in the transaction that enqueues
-- the tick, so each tick is enqueued once however many nodes try.
CREATE TABLE kronos_cron (
  name        text PRIMARY KEY CHECK (name <> ''),
  schedule    text NOT NULL,
  type        text NOT NULL CHECK (type <> ''),
  payload     jsonb NOT NULL DEFAULT 'null',
  priority    smallint NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
  max_retries integer NOT NULL DEFAULT 3 CHECK (max_retries >= 0),
  next_run_at timestamptz NOT NULL,
  last_run_at timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- Hot query: cron.due.
CREATE INDEX kronos_cron_due ON kronos_cron (next_run_at);

-- Live nodes, for the debugger header and leader display.
CREATE TABLE kronos_nodes (
  id           text PRIMARY KEY,
  hostname     text NOT NULL,
  pid          integer NOT NULL,
  is_leader    boolean NOT NULL DEFAULT false,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
