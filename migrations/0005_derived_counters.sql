-- Counters that every step wrote, replaced by what the step rows and the event log already say.
--
-- kronos_runs.last_seq and .steps_left and kronos_steps.deps_left were updated by every transaction
-- that completed a step: three more row versions per step, and on kronos_runs (seven indexes) most
-- of them could not be HOT updates. Now:
--   - a run's next event seq is max(seq) of its events + 1, read from the primary key by the
--     appending statement while the writer holds the run's row lock (events.append);
--   - a step with one dependency is ready when that dependency completes; a step with several is
--     ready when the step rows of all of them say completed (or reused), read under the run lock;
--   - a run is finished when its sink steps are (every step is upstream of some sink).
-- In-flight runs carry on: all three answers are derived from rows that every version wrote.
ALTER TABLE kronos_runs DROP COLUMN last_seq, DROP COLUMN steps_left;
ALTER TABLE kronos_steps DROP COLUMN deps_left;
