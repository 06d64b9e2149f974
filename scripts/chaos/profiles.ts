// How big each scenario is: "ci" (npm test, about two minutes for scenarios 1–5 on two shared
// cores), "full" (the sizes of issue 8: 2,000 runs under SIGKILL…) and "long" (full plus the soak).

export interface KillProfile {
  runs: number;
  nodes: number;
  /** Runs started per second over the API while nodes are being killed. */
  perSecond: number;
  /** Mean time between SIGKILLs (each one ±30%). */
  killEveryMs: number;
  maxKills: number;
  /** Longest wait for every run to finish after the last start. */
  settleMs: number;
}

export interface PgRestartProfile {
  runs: number;
  nodes: number;
  perSecond: number;
  /** How long PostgreSQL stays down. */
  downMs: number;
  settleMs: number;
}

export interface LeaderProfile {
  nodes: number;
  kills: number;
  /** Time between leader kills. */
  everyMs: number;
  /** KRONOS_LEADER_CHECK of the nodes. */
  leaderCheckMs: number;
}

export interface SigtermProfile {
  runs: number;
  nodes: number;
  perSecond: number;
  rounds: number;
  everyMs: number;
  /** KRONOS_SHUTDOWN_GRACE. */
  graceMs: number;
  /** Every n-th run has one step longer than the grace period (so it must be handed back). */
  slowEvery: number;
  slowMs: number;
  settleMs: number;
}

export interface FuzzProfile {
  requests: number;
  concurrency: number;
  seed: number;
}

export interface SoakProfile {
  minutes: number;
  nodes: number;
  perSecond: number;
  /** KRONOS_RETENTION: short, so deletions show within the soak. */
  retention: string;
  sampleEveryMs: number;
}

export interface Profile {
  name: "ci" | "full" | "long";
  kill: KillProfile;
  pgRestart: PgRestartProfile;
  leader: LeaderProfile;
  sigterm: SigtermProfile;
  fuzz: FuzzProfile;
  soak: SoakProfile;
}

const soak: SoakProfile = { minutes: 30, nodes: 3, perSecond: 10, retention: "3m", sampleEveryMs: 30_000 };

export const profiles: Record<Profile["name"], Profile> = {
  ci: {
    name: "ci",
    kill: { runs: 200, nodes: 3, perSecond: 15, killEveryMs: 2_500, maxKills: 4, settleMs: 60_000 },
    pgRestart: { runs: 120, nodes: 2, perSecond: 15, downMs: 3_000, settleMs: 60_000 },
    leader: { nodes: 3, kills: 2, everyMs: 5_000, leaderCheckMs: 500 },
    sigterm: {
      runs: 120,
      nodes: 3,
      perSecond: 15,
      rounds: 3,
      everyMs: 3_000,
      graceMs: 2_000,
      slowEvery: 10,
      slowMs: 6_000,
      settleMs: 60_000,
    },
    fuzz: { requests: 1_500, concurrency: 8, seed: 8 },
    soak: { ...soak, minutes: 1, sampleEveryMs: 10_000 },
  },
  full: {
    name: "full",
    kill: { runs: 2_000, nodes: 3, perSecond: 40, killEveryMs: 4_000, maxKills: 15, settleMs: 180_000 },
    pgRestart: { runs: 600, nodes: 3, perSecond: 20, downMs: 5_000, settleMs: 120_000 },
    leader: { nodes: 3, kills: 5, everyMs: 8_000, leaderCheckMs: 500 },
    sigterm: {
      runs: 600,
      nodes: 3,
      perSecond: 20,
      rounds: 8,
      everyMs: 4_000,
      graceMs: 3_000,
      slowEvery: 10,
      slowMs: 8_000,
      settleMs: 120_000,
    },
    fuzz: { requests: 20_000, concurrency: 8, seed: 8 },
    soak,
  },
  long: undefined as unknown as Profile,
};
profiles.long = { ...profiles.full, name: "long" };
