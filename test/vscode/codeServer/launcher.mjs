#!/usr/bin/env node
// Stands in for the VS Code executable that @vscode/test-electron's runTests() spawns, on
// machines without desktop VS Code: it takes the same command line, starts code-server (a real
// VS Code from the npm registry: NIX_BUILDERS_CODE_SERVER names the version, one of
// codeServers in codeServer.mjs, default the oldest), opens the workbench in Debian's Chromium through
// playwright-core, and exits with the test suite's exit code, which VS Code reports through
// `codeAutomationExit`. The suite's console arrives through `codeAutomationLog`.
//
// The suite can ask for a screenshot by logging `[screenshot] <absolute path>.png`: this
// process takes it and writes the file, which the suite waits for, and <path>.json beside it
// with what the picture shows (whatIsShown.mjs), which the suite asserts on. It can have text
// typed into the open input box (a passphrase prompt) by logging `[type-into-input] <file>`:
// the text is read from the file (never logged), which is removed; <file>.done says it was typed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { format } from 'node:util';
import { chromium } from 'playwright-core';
import { whatIsShown } from './whatIsShown.mjs';
import { codeServerOf, codeServerVersion, installCodeServer, startCodeServer, workbenchUrl } from './codeServer.mjs';

const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// Where runTests.ts keeps this run's screenshots (one folder per VS Code version).
const resultsDir = process.env.NIX_BUILDERS_TEST_RESULTS || join(process.cwd(), 'test-results/vscode');
const suiteTimeoutMs = Number(process.env.NIX_BUILDERS_VSCODE_TIMEOUT_MS || 10 * 60_000);

// What the workbench itself logs on every start: only shown with NIX_BUILDERS_VSCODE_VERBOSE=1.
const workbenchNoise = [
  /^(Resolving|Resolved) connection token/,
  /^Creating a socket/,
  /^Ignoring fetching additional builtin extensions/,
  /^Updating additional builtin extensions cache/,
  /^\[Service Worker\]/,
  /^ChatSessionStore:/,
  // VS Code 1.139's chat and agent host, which have no model or account here.
  /^\[(AgentHost|ChatModelSelection|AccountPolicyGate|reconnection-grace-time)[\]:]/,
];

function parseArgs(argv) {
  const options = { folders: [] };
  for (const arg of argv) {
    const match = /^--([^=]+)=(.*)$/.exec(arg);
    if (match) options[match[1]] = match[2];
    else if (!arg.startsWith('-')) options.folders.push(resolve(arg));
  }
  return options;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!existsSync(chromiumPath)) {
    console.error(`No Chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH).`);
    return 1;
  }
  const codeServer = codeServerOf(process.env.NIX_BUILDERS_CODE_SERVER || codeServerVersion);
  const root = installCodeServer(codeServer.version);
  const runDir = args['user-data-dir']
    ? dirname(resolve(args['user-data-dir']))
    : mkdtempSync('/tmp/nix-builders-vscode-');
  mkdirSync(runDir, { recursive: true });

  const server = await startCodeServer({
    root,
    runDir,
    userDataDir: args['user-data-dir'] && resolve(args['user-data-dir']),
    extensionsDir: args['extensions-dir'] && resolve(args['extensions-dir']),
    vscodeOptions: codeServer.vscodeOptions,
    // runTests.ts's untrusted run: workspace trust on, as VS Code ships, so the folder starts untrusted.
    workspaceTrust: process.env.NIX_BUILDERS_WORKSPACE_TRUST === 'on',
    log: (line) => {
      if (process.env.NIX_BUILDERS_VSCODE_VERBOSE) console.log(`[code-server] ${line}`);
    },
  });
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // The browser only ever talks to code-server on loopback: it resolves no other name, so
      // its own services (autofill, accounts, updates) never reach the machine's resolver.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter',
    ],
  });
  let exitCode = 1;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    let finish;
    const finished = new Promise((resolveFinish) => {
      finish = resolveFinish;
    });
    const pending = [];
    await page.exposeFunction('codeAutomationLog', (type, logArgs) => {
      // The workbench forwards console calls as (format, ...values), like console.log itself.
      const text = format(...(Array.isArray(logArgs) ? logArgs : [logArgs]));
      if (!process.env.NIX_BUILDERS_VSCODE_VERBOSE && workbenchNoise.some((noise) => noise.test(text))) return;
      const shot = /^\[screenshot\] (\/\S+\.png)$/.exec(text);
      if (shot) {
        pending.push(takeScreenshot(page, shot[1]));
        return;
      }
      const typing = /^\[type-into-input\] (\/\S+)$/.exec(text);
      if (typing) {
        pending.push(typeIntoInput(page, typing[1]));
        return;
      }
      (type === 'error' ? console.error : console.log)(text);
    });
    await page.exposeFunction('codeAutomationExit', (code) => finish(Number(code)));

    const url = workbenchUrl(server.url, {
      folder: args.folders[0],
      extensionDevelopmentPath: args.extensionDevelopmentPath && resolve(args.extensionDevelopmentPath),
      extensionTestsPath: args.extensionTestsPath && resolve(args.extensionTestsPath),
    });
    await page.goto(url);
    const timer = setTimeout(() => finish('timeout'), suiteTimeoutMs);
    const result = await finished;
    clearTimeout(timer);
    await Promise.all(pending);
    if (result === 'timeout') {
      console.error(`The suite did not finish within ${suiteTimeoutMs / 1000} s.`);
      await takeScreenshot(page, join(resultsDir, 'timeout.png'));
    } else {
      exitCode = result;
      if (exitCode !== 0) await takeScreenshot(page, join(resultsDir, 'failure.png'));
    }
  } finally {
    await browser.close().catch(() => {});
    await server.stop();
  }
  return exitCode;
}

/**
 * Saves the picture and, beside it as <name>.json, what it shows (whatIsShown.mjs) for the suite
 * to assert on.
 */
async function takeScreenshot(page, path) {
  mkdirSync(dirname(path), { recursive: true });
  const png = await page.screenshot();
  writeFileSync(path.replace(/\.png$/, '.json'), `${JSON.stringify(await whatIsShown(page, png), null, 2)}\n`);
  // Written beside, then renamed: the suite polls for the file and must never see half of it.
  const partial = `${path}.partial.png`;
  writeFileSync(partial, png);
  renameSync(partial, path);
  console.log(`Screenshot: ${path}`);
}

/** Types the file's text into the input box VS Code shows (its quick input), then Enter. */
async function typeIntoInput(page, file) {
  const text = readFileSync(file, 'utf8');
  rmSync(file, { force: true });
  let outcome = '';
  try {
    const input = page.locator('.quick-input-widget .quick-input-box input').first();
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    await input.fill(text);
    await input.press('Enter');
    // Accepted: the box closes, or empties for the next question (a second pick follows).
    await page.waitForFunction(
      () => {
        const box = document.querySelector('.quick-input-widget .quick-input-box input');
        return !box || box.value === '' || box.offsetParent === null;
      },
      undefined,
      { timeout: 10_000 },
    );
  } catch (error) {
    outcome = `could not type into the input box: ${error instanceof Error ? error.message : String(error)}`;
  }
  writeFileSync(`${file}.done`, outcome);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
