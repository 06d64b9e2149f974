// The migration files, embedded as text so the compiled binary carries them.
// Forward-only: add a file and a line here; never edit a file that has landed.
import m0001 from "../../migrations/0001_jobs.sql" with { type: "text" };
import m0002 from "../../migrations/0002_workflows.sql" with { type: "text" };
import m0003 from "../../migrations/0003_queue_planning.sql" with { type: "text" };
import m0004 from "../../migrations/0004_workflow_writes.sql" with { type: "text" };
import m0005 from "../../migrations/0005_derived_counters.sql" with { type: "text" };
import m0006 from "../../migrations/0006_cheaper_step_writes.sql" with { type: "text" };
import m0007 from "../../migrations/0007_event_batches.sql" with { type: "text" };
import m0008 from "../../migrations/0008_run_index_entries.sql" with { type: "text" };
import m0009 from "../../migrations/0009_event_type_check.sql" with { type: "text" };

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: "0001_jobs", sql: m0001 },
  { version: 2, name: "0002_workflows", sql: m0002 },
  { version: 3, name: "0003_queue_planning", sql: m0003 },
  { version: 4, name: "0004_workflow_writes", sql: m0004 },
  { version: 5, name: "0005_derived_counters", sql: m0005 },
  { version: 6, name: "0006_cheaper_step_writes", sql: m0006 },
  { version: 7, name: "0007_event_batches", sql: m0007 },
  { version: 8, name: "0008_run_index_entries", sql: m0008 },
  { version: 9, name: "0009_event_type_check", sql: m0009 },
];
