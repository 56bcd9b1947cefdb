/**
 * A real headless Chromium for the end-to-end tests: Debian's `chromium`
 * driven by playwright-core, with a fresh profile directory per launch. A
 * missing browser is an error, never a skip. close() ends the browser
 * process and removes the profile; call it in afterAll/finally.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * `step`, or an error naming `label` once `ms` have passed: for the calls
 * that take no timeout of their own (a new tab, closing one), so that a
 * browser that stops answering fails the test at that step.
 */
export async function within<T>(label: string, step: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: Chromium did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([step, late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ChromiumSession {
  context: BrowserContext;
  /** A new tab whose console errors, uncaught exceptions and dialogs are recorded. */
  open(options?: { colorScheme?: 'light' | 'dark' }): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  /** Console messages of type error, and uncaught page errors, in order. */
  errors: string[];
  /** alert/confirm/prompt dialogs that opened (each is dismissed). */
  dialogs: string[];
}

export interface LaunchOptions {
  /** false: every page of this browser runs no script (Playwright's own switch, not a CDP emulation). */
  javaScriptEnabled?: boolean;
}

export async function launchChromium(options: LaunchOptions = {}): Promise<ChromiumSession> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install it (apt-get install chromium) or set CHROMIUM_PATH. ` +
        'The end-to-end tests need a real browser and do not skip.',
    );
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'udp-ts-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 900 },
      javaScriptEnabled: options.javaScriptEnabled ?? true,
      timeout: 60_000,
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  // The persistent context opens with one blank tab; tests open their own.
  for (const blank of context.pages()) await blank.close();
  return {
    context,
    async open(tabOptions = {}) {
      const page = await context.newPage();
      if (tabOptions.colorScheme) await page.emulateMedia({ colorScheme: tabOptions.colorScheme });
      const watched: WatchedPage = { page, errors: [], dialogs: [] };
      page.on('console', (message) => {
        if (message.type() === 'error') watched.errors.push(`${message.text()} (${message.location().url})`);
      });
      page.on('pageerror', (err) => watched.errors.push(`uncaught: ${err.message}`));
      page.on('dialog', (dialog) => {
        watched.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
        void dialog.dismiss();
      });
      return watched;
    },
    async close() {
      try {
        await context.close();
      } finally {
        await rm(userDataDir, { recursive: true, force: true });
      }
    },
  };
}
