-- Step inputs and outputs, content-addressed: identical values are stored once.
CREATE TABLE kronos_blobs (
  hash       text PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
  data       jsonb NOT NULL,
  size       integer NOT NULL CHECK (size >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A workflow definition as some node loaded it: name, version and fingerprint of structure + code.
CREATE TABLE kronos_definitions (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL,
  version     text NOT NULL,
  fingerprint text NOT NULL,
  dag         jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (name, version, fingerprint)
);

CREATE TABLE kronos_runs (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- No foreign keys to definitions or blobs: every run would take a KEY SHARE lock on the same
  -- definition row (and identical outputs on the same blob row), and concurrent lockers of one row
  -- make PostgreSQL build multixacts, which serialises starts and completions. Definitions are never
  -- deleted, and retention deletes only blobs nothing refers to.
  definition_id   integer NOT NULL,
  workflow_name   text NOT NULL,
  status          text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  input_hash      text NOT NULL,
  output_hash     text,
  error           jsonb,
  failed_step     text,
  parent_run_id   uuid REFERENCES kronos_runs (id) ON DELETE SET NULL,
  forked_from     text,
  idempotency_key text UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 500),
  steps_left      integer NOT NULL CHECK (steps_left >= 0),
  last_seq        integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  CHECK ((status = 'running') = (finished_at IS NULL))
);
-- runs.list: newest first, optionally by workflow and/or status (keyset paging on created_at, id).
CREATE INDEX kronos_runs_recent ON kronos_runs (created_at DESC, id DESC);
CREATE INDEX kronos_runs_by_workflow ON kronos_runs (workflow_name, created_at DESC, id DESC);
CREATE INDEX kronos_runs_by_status ON kronos_runs (status, created_at DESC, id DESC);
CREATE INDEX kronos_runs_children ON kronos_runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
-- Retention: finished runs by age.
CREATE INDEX kronos_runs_finished ON kronos_runs (finished_at) WHERE finished_at IS NOT NULL;

-- Projection of the event log: each step's latest state, for fast reads and scheduling.
CREATE TABLE kronos_steps (
  run_id         uuid NOT NULL REFERENCES kronos_runs (id) ON DELETE CASCADE,
  name           text NOT NULL,
  status         text NOT NULL
                 CHECK (status IN ('waiting', 'scheduled', 'running', 'completed', 'failed', 'cancelled', 'reused')),
  deps_left      integer NOT NULL CHECK (deps_left >= 0),
  attempt        integer NOT NULL DEFAULT 0,
  job_id         bigint,
  output_hash    text,
  error          text,
  started_at     timestamptz,
  finished_at    timestamptz,
  PRIMARY KEY (run_id, name)
);
-- runs.cancel and retention look steps up by job.
CREATE INDEX kronos_steps_job ON kronos_steps (job_id) WHERE job_id IS NOT NULL;

-- The append-only history of every run: gapless seq per run.
CREATE TABLE kronos_events (
  run_id  uuid NOT NULL REFERENCES kronos_runs (id) ON DELETE CASCADE,
  seq     integer NOT NULL CHECK (seq >= 1),
  type    text NOT NULL CHECK (type IN ('run_started', 'step_scheduled', 'step_started',
            'step_completed', 'step_failed', 'step_retried', 'run_completed', 'run_failed',
            'run_cancelled', 'run_forked')),
  step    text,
  attempt integer,
  data    jsonb NOT NULL DEFAULT '{}',
  at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (run_id, seq)
);

CREATE FUNCTION kronos_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'kronos_events is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER kronos_events_no_update BEFORE UPDATE ON kronos_events
  FOR EACH ROW EXECUTE FUNCTION kronos_events_append_only();

-- Step jobs carry the definition they belong to, so a node claims only steps whose code it loaded.
ALTER TABLE kronos_jobs ADD COLUMN definition_id integer;

-- Wake live watchers of a run (StreamRunEvents, debugger SSE) when its events are appended.
-- The payload lists the runs touched; past 100 runs it is empty, meaning "check every run you watch"
-- (a notification payload must stay under 8000 bytes).
CREATE FUNCTION kronos_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  runs text;
BEGIN
  SELECT CASE WHEN count(DISTINCT run_id) <= 100 THEN string_agg(DISTINCT run_id::text, ',') ELSE '' END
    INTO runs FROM appended;
  PERFORM pg_notify('kronos_events', coalesce(runs, ''));
  RETURN NULL;
END $$;
CREATE TRIGGER kronos_events_appended AFTER INSERT ON kronos_events
  REFERENCING NEW TABLE AS appended
  FOR EACH STATEMENT EXECUTE FUNCTION kronos_notify_events();
