/**
 * The six-step example: fetch a user, enrich the profile, then validate it and notify two
 * channels in parallel, and finish with a summary. No step waits artificially (this workflow is
 * also the benchmark workload). Start it with {"userId":"u1"}; add "failAt":"<step>" to make
 * that step throw, so the debugger, fork and replay have a failure to show.
 */
import { workflow } from "kronos";

export interface PipelineInput {
  userId: string;
  /** Name of a step that should fail (for demos of the debugger, fork and replay). */
  failAt?: string;
}

function maybeFail(input: { failAt?: string }, step: string): void {
  if (input.failAt === step) throw new Error(`${step} failed on purpose (failAt="${step}")`);
}

export const dataPipeline = workflow<PipelineInput>("data-pipeline", "v1")
  .step("fetch-user", (input) => {
    maybeFail(input, "fetch-user");
    const n = [...input.userId].reduce((sum, ch) => sum + ch.charCodeAt(0), 0);
    return {
      userId: input.userId,
      name: `User ${input.userId}`,
      email: `${input.userId}@example.com`,
      signupDays: n % 365,
      failAt: input.failAt,
    };
  })
  .step(
    "enrich",
    (user) => {
      maybeFail(user, "enrich");
      return { ...user, tier: user.signupDays > 180 ? "gold" : "silver", score: (user.signupDays * 7) % 100 };
    },
    { after: ["fetch-user"] },
  )
  .step(
    "validate",
    (profile) => {
      maybeFail(profile, "validate");
      const problems = profile.email.includes("@") ? [] : ["email has no @"];
      return { valid: problems.length === 0, problems };
    },
    { after: ["enrich"] },
  )
  .step(
    "notify-1",
    (profile) => {
      maybeFail(profile, "notify-1");
      return { channel: "email", to: profile.email, subject: `Welcome, ${profile.name} (${profile.tier})` };
    },
    { after: ["enrich"] },
  )
  .step(
    "notify-2",
    (profile) => {
      maybeFail(profile, "notify-2");
      return { channel: "slack", text: `${profile.name} joined as ${profile.tier}, score ${profile.score}` };
    },
    { after: ["enrich"] },
  )
  .step(
    "finish",
    ({ validate, "notify-1": email, "notify-2": slack }) => ({
      valid: validate.valid,
      notified: [email.channel, slack.channel],
    }),
    { after: ["validate", "notify-1", "notify-2"] },
  );
