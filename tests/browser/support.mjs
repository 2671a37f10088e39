// What the browser tests (demo.test.mjs, dates.test.mjs) share: their command-line options,
// the check/report harness, and the demo page opened in headless Chromium (apt `chromium`,
// npm playwright-core; no browser is ever downloaded) from tools/serve-web.mjs on a random
// 127.0.0.1 port, with every request beyond that origin refused and recorded.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, defaultDist } from '../../tools/serve-web.mjs';

export { defaultDist };
/// The repository root.
export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/// The Chromium binary (VARSCOPE_CHROMIUM overrides apt's /usr/bin/chromium).
export const chromiumPath = process.env.VARSCOPE_CHROMIUM || '/usr/bin/chromium';
/// The flags TOOLCHAIN.md asks for (playwright adds a fresh temporary --user-data-dir per launch).
export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/// opt(name, fallback): the value after `name` on the command line, else `fallback`.
export function commandLine(argv = process.argv.slice(2)) {
  return (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
  };
}

/// JSON equality (arrays and plain objects, key order included).
export const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/// The harness: check(cond, what, detail) prints "ok"/"FAIL" and collects failures;
/// timings collects named durations (ms); run(main, doneMessage, extraLines) runs main,
/// turns an exception into a failure, prints the timings and exits 1 on any failure.
export function harness() {
  const failures = [];
  const timings = {};
  const t0 = performance.now();
  const check = (cond, what, detail = '') => {
    if (cond) console.log(`ok   ${what}`);
    else {
      console.log(`FAIL ${what}${detail ? `\n     ${detail}` : ''}`);
      failures.push(what);
    }
    return cond;
  };
  const run = async (main, doneMessage, extraLines = []) => {
    try {
      await main();
    } catch (e) {
      failures.push(`exception: ${e && e.stack ? e.stack : e}`);
      console.log(`FAIL exception: ${e && e.stack ? e.stack : e}`);
    }
    timings.totalMs = performance.now() - t0;
    console.log(`timings: ${Object.entries(timings).map(([k, v]) => `${k}=${Math.round(v)}`).join(' ')}`);
    for (const line of extraLines) console.log(line);
    if (failures.length) {
      console.log(`\n${failures.length} check(s) failed:\n - ${failures.join('\n - ')}`);
      process.exit(1);
    }
    console.log(`\n${doneMessage}`);
    process.exit(0);
  };
  return { failures, timings, check, run };
}

/// Launches headless Chromium with chromiumArgs.
export function launchChromium() {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}

/// Serves `webDir` with `distDir` as its dist/, launches Chromium and opens the page until
/// body[data-ready="true"] (at most 120 s). Returns { page, pageErrors, foreign, local, readyMs,
/// close }: pageErrors collects uncaught page errors and console errors, foreign the URLs
/// of refused requests beyond the page's origin, local the URLs served (page and workers, from
/// navigation on); close() ends the browser and the server.
export async function openDemoPage({ webDir, distDir }) {
  const server = await startServer({ port: 0, root: webDir, dist: distDir, quiet: true });
  const origin = server.url.replace(/\/$/, '');
  let browser;
  try {
    browser = await launchChromium();
  } catch (e) {
    await server.close();
    throw e;
  }
  const close = async () => {
    await browser.close();
    await server.close();
  };
  const pageErrors = [];
  const foreign = [];
  const local = [];
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin + '/')) local.push(url);
      if (url.startsWith(origin + '/') || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
    const t = performance.now();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120000 });
    return { page, pageErrors, foreign, local, readyMs: performance.now() - t, close };
  } catch (e) {
    await close();
    throw e;
  }
}
