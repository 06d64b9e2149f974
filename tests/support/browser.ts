import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's Chromium (`apt-get install -y chromium`); playwright's own browsers are never downloaded. */
export const CHROMIUM = process.env.KRONOS_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** Where browser tests save their screenshots (gitignored). */
export const SCREENSHOTS = resolve(import.meta.dir, "../.screenshots");

/** How every headless Chromium of the tests and of scripts/bench-ui.ts is started. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless=new",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Native dialogs (alert, confirm, prompt) the page opened; each is dismissed. */
  dialogs: string[];
  /** Uncaught errors and console errors of the page. */
  errors: string[];
  /** Saves a screenshot of the page as tests/.screenshots/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile, one page at `viewport`, for tests of the debugger.
 * Fails with the install command when Chromium is missing.
 */
export async function openBrowser(viewport = { width: 1280, height: 800 }): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it with 'apt-get install -y chromium' (or set KRONOS_TEST_CHROMIUM)`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "kronos-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    colorScheme: "light",
    reducedMotion: "reduce",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => {});
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    dialogs,
    errors,
    screenshot: async (name) => {
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path });
      return path;
    },
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
