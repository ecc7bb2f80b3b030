#!/usr/bin/env node
// Browser end-to-end test of natter's built-in web client (web/, embedded in the binary),
// in headless Chromium: two users chat live (presence, unread badges, "seen", typing,
// groups, images, edit, delete), one goes offline and catches up, then logs out. Last,
// /docs/ (Swagger UI) must render natter's own OpenAPI document without leaving the origin.
//
//   node e2e/webclient.mjs http://127.0.0.1:3000
//
// Env: CHROMIUM_PATH (default /usr/bin/chromium), E2E_TIMEOUT_MS (default 90000),
//      E2E_ARTIFACTS_DIR (failure screenshots and console logs; default a temp dir),
//      NATTER_SCREENSHOTS=<dir> (on success, save webclient-desktop.png, webclient-phone.png
//      and docs-page.png).
// Exit codes: 0 passed, 1 a step failed, 2 bad usage / browser would not start, 3 overall timeout.
import { chromium } from "playwright-core";
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

const started = Date.now();
const base = (process.argv[2] || "").replace(/\/+$/, "");
if (!/^https?:\/\/[^/]+$/.test(base)) {
  console.error("usage: node webclient.mjs <server base URL, e.g. http://127.0.0.1:3000>");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const OVERALL_MS = Number(process.env.E2E_TIMEOUT_MS || 90_000);
const STEP_MS = 10_000;
const SHOTS = process.env.NATTER_SCREENSHOTS;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Each context's page must count as visible (it marks rooms read only then).
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

if (!existsSync(CHROMIUM)) {
  console.error(`FAIL: Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  process.exit(2);
}

// A 96x64 gradient PNG, built here (node:zlib) so the test needs no image files.
function gradientPng(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      raw.set([40 + (180 * x) / width, 90 + (120 * y) / height, 200], row + 1 + x * 3);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
const PNG_W = 96;
const PNG = gradientPng(PNG_W, 64);

const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const PASSWORD = `Pw-${runId}-e2e!`;
const person = (key, first) => ({
  key,
  fullName: `${first} ${runId}`,
  email: `${first.toLowerCase()}.${runId}@example.com`,
  password: PASSWORD,
});
const alice = person("alice", "Alice");
const bob = person("bob", "Bob");
const carol = person("carol", "Carol");

let browser;
let currentStep = "start";
const actors = [];

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const log = (msg) => console.log(`[${elapsed()}] ${msg}`);

class StepError extends Error {}
const fail = (msg) => {
  throw new StepError(msg);
};

async function step(name, fn) {
  currentStep = name;
  const t0 = Date.now();
  await fn();
  log(`ok   ${name} (${Date.now() - t0} ms)`);
}

// ---------------------------------------------------------------- diagnostics

function instrument(actor) {
  const { page } = actor;
  actor.http = [];
  actor.console = [];
  actor.csp = [];
  page.on("console", (m) => {
    actor.console.push(`[${elapsed()}] ${m.type()}: ${m.text()}`.slice(0, 400));
    // Chromium reports each Content-Security-Policy violation as a console error.
    if (/Content Security Policy/i.test(m.text())) actor.csp.push(m.text().slice(0, 300));
  });
  page.on("pageerror", (e) => actor.console.push(`[${elapsed()}] pageerror: ${e.message}`.slice(0, 400)));
  page.on("requestfailed", (r) => {
    const u = new URL(r.url());
    actor.http.push(`[${elapsed()}] ${r.method()} ${u.pathname}${u.search} -> failed: ${r.failure()?.errorText}`);
  });
  page.on("response", async (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith("/api/")) return;
    let line = `[${elapsed()}] ${r.request().method()} ${u.pathname}${u.search} -> ${r.status()}`;
    if (r.status() >= 400) line += ` ${(await r.text().catch(() => "")).slice(0, 200)}`;
    actor.http.push(line);
  });
  actor.websockets = 0;
  page.on("websocket", (ws) => {
    actor.websockets++;
    actor.console.push(`[${elapsed()}] websocket open ${new URL(ws.url()).pathname}`);
    ws.on("close", () => actor.console.push(`[${elapsed()}] websocket closed`));
  });
}

async function report(err) {
  const msg = String(err?.message || err).replace(/\x1b\[[0-9;]*m/g, "");
  console.error(`\nFAIL at step "${currentStep}" after ${elapsed()}:\n  ${msg}`);
  if (!(err instanceof StepError)) {
    const where = String(err?.stack || "").split("\n").find((l) => l.includes("webclient.mjs"));
    if (where) console.error(`  (${where.trim()})`);
  }
  let dir = process.env.E2E_ARTIFACTS_DIR;
  try {
    if (dir) mkdirSync(dir, { recursive: true });
    else dir = mkdtempSync(join(tmpdir(), "natter-webclient-e2e-"));
  } catch {
    dir = undefined;
  }
  for (const a of actors) {
    console.error(`\n--- ${a.user.key} (${a.user.email}) at ${a.page.url()}`);
    console.error(`API (last 25):\n  ${a.http.slice(-25).join("\n  ") || "(none)"}`);
    console.error(`console (last 15):\n  ${a.console.slice(-15).join("\n  ") || "(none)"}`);
    if (!dir) continue;
    try {
      writeFileSync(join(dir, `webclient-${a.user.key}-console.log`), `${a.console.join("\n")}\n\n${a.http.join("\n")}\n`);
      const file = join(dir, `webclient-${a.user.key}.png`);
      await a.page.screenshot({ path: file, fullPage: true, timeout: 3000 });
      console.error(`screenshot: ${file}`);
    } catch {
      /* best effort */
    }
  }
  if (dir) console.error(`\nartifacts: ${dir}`);
}

// ------------------------------------------------------------------- helpers

async function visible(locator, what, timeout = STEP_MS) {
  try {
    await locator.first().waitFor({ state: "visible", timeout });
  } catch {
    fail(`${what}: not visible within ${timeout} ms`);
  }
}

async function gone(locator, what, timeout = STEP_MS) {
  try {
    await locator.first().waitFor({ state: "detached", timeout });
  } catch {
    fail(`${what}: still there after ${timeout} ms`);
  }
}

/** Polls `check` (async, returns true when satisfied) until it holds; `describe()` explains a failure. */
async function until(check, describe, timeout = STEP_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) fail(`${await describe()} (waited ${timeout} ms)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const person_ = (page, user) => page.getByTestId("person").filter({ hasText: user.fullName });
const roomEntry = (page, name) => page.getByTestId("room").filter({ hasText: name });
const messageWith = (page, text) => page.getByTestId("message").filter({ hasText: text });
const messageTexts = (page) => page.getByTestId("message-text").allTextContents();

async function apiSignup(user) {
  const r = await fetch(`${base}/api/auth/signup`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ fullName: user.fullName, email: user.email, password: user.password }),
  });
  if (r.status !== 201) fail(`API signup of ${user.key}: ${r.status} ${await r.text()}`);
  user.id = (await r.json())._id;
  user.cookie = r.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}

async function apiGet(user, path) {
  const r = await fetch(`${base}${path}`, { headers: { Cookie: user.cookie } });
  if (!r.ok) fail(`GET ${path} as ${user.key}: ${r.status} ${await r.text()}`);
  return r.json();
}

async function signupThroughUi({ page, user }) {
  const doc = await page.goto(`${base}/`, { waitUntil: "domcontentloaded" });
  const csp = doc.headers()["content-security-policy"] || "";
  if (!csp.includes("script-src 'self'") || csp.includes("unsafe-inline"))
    fail(`the web client is not served under natter's strict CSP: "${csp}"`);
  await visible(page.getByTestId("login-form"), "login form at / (is the built-in client served?)");
  await page.getByTestId("login-form").getByRole("button", { name: "Sign up" }).click();
  const form = page.getByTestId("signup-form");
  await form.getByLabel("Full name").fill(user.fullName);
  await form.getByLabel("Email", { exact: true }).fill(user.email);
  await form.getByLabel(/^Password/).fill(user.password);
  const signup = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/auth/signup");
  await form.getByRole("button", { name: "Sign up" }).click();
  const resp = await signup;
  if (resp.status() !== 201) fail(`signup returned ${resp.status()}: ${await resp.text()}`);
  user.id = (await resp.json())._id;
  await until(
    async () => (await page.getByTestId("current-user").textContent()) === user.fullName,
    async () => `header shows "${await page.getByTestId("current-user").textContent()}", not ${user.fullName}`,
  );
}

async function sendText(page, text) {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
  await visible(messageWith(page, text), `own message "${text}"`);
  await until(
    async () => (await box.inputValue()) === "",
    () => "the message box was not cleared after sending",
  );
}

async function online(page, user, expected) {
  const dot = person_(page, user).getByTestId("presence");
  await until(
    async () => (await dot.getAttribute("data-online").catch(() => null)) === String(expected),
    async () => `${user.fullName} should be shown ${expected ? "online" : "offline"} (dot: ${await dot.getAttribute("data-online").catch(() => "missing")})`,
  );
}

// ---------------------------------------------------------------------- main

async function main() {
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 20_000 });
  } catch (e) {
    console.error(`FAIL: could not launch Chromium at ${CHROMIUM}: ${e.message}`);
    process.exit(2);
  }
  log(`chromium ${browser.version()} launched; server ${base}; run ${runId}`);

  for (const user of [alice, bob]) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    const actor = { user, context, page };
    instrument(actor);
    actors.push(actor);
  }
  const [A, B] = actors;

  await step("carol signs up over the API (the third group member)", () => apiSignup(carol));
  await step("alice signs up through the UI", () => signupThroughUi(A));
  await step("bob signs up through the UI", () => signupThroughUi(B));

  await step("each sees the other online", async () => {
    await visible(person_(A.page, bob), "bob in alice's people list (listed after he signed up)");
    await online(A.page, bob, true);
    await online(B.page, alice, true);
    await online(B.page, carol, false);
  });

  const hello = `Hello Bob ${runId}`;
  await step("alice opens a DM with bob and sends", async () => {
    await person_(A.page, bob).click();
    await until(
      async () => (await A.page.getByTestId("room-title").textContent()) === bob.fullName,
      () => "the conversation title is not bob's name",
    );
    await sendText(A.page, hello);
  });

  await step("bob sees an unread badge, opens the DM, the badge goes", async () => {
    const entry = roomEntry(B.page, alice.fullName);
    await visible(entry.getByTestId("unread"), "unread badge on bob's DM with alice");
    const n = (await entry.getByTestId("unread").textContent()).trim();
    if (n !== "1") fail(`unread badge says ${n}, expected 1`);
    await entry.click();
    await visible(messageWith(B.page, hello), "alice's message in bob's view");
    await gone(entry.getByTestId("unread"), "unread badge after opening");
  });

  await step('alice sees "seen"', async () => {
    await visible(messageWith(A.page, hello).getByTestId("seen"), '"Seen" under alice\'s message');
  });

  await step("bob types, alice sees the typing indicator", async () => {
    await B.page.getByLabel("Message", { exact: true }).pressSequentially("Hi Ali", { delay: 20 });
    await until(
      async () => (await A.page.getByTestId("typing").textContent()).includes(`${bob.fullName} is typing`),
      async () => `typing indicator says "${await A.page.getByTestId("typing").textContent()}"`,
    );
    await B.page.getByLabel("Message", { exact: true }).fill("");
  });

  const reply = `Hi Alice ${runId}`;
  await step("bob replies, alice gets it live and the typing indicator stops", async () => {
    await sendText(B.page, reply);
    await visible(messageWith(A.page, reply), "bob's reply in alice's view");
    await until(
      async () => (await A.page.getByTestId("typing").textContent()) === "",
      () => "typing indicator still shown after bob's message",
    );
  });

  const groupName = `Team ${runId}`;
  const groupHello = `Hello team ${runId}`;
  await step("alice creates a group with bob, adds carol, and posts; bob sees it", async () => {
    await A.page.getByRole("button", { name: "New group" }).click();
    const dialog = A.page.getByRole("dialog", { name: "New group" });
    await dialog.getByLabel("Group name").fill(groupName);
    await dialog.getByLabel(bob.fullName).check();
    await dialog.getByRole("button", { name: "Create group" }).click();
    await until(
      async () => (await A.page.getByTestId("room-title").textContent()) === groupName,
      () => "the new group is not open",
    );
    await A.page.getByRole("button", { name: "Add people" }).click();
    const add = A.page.getByRole("dialog", { name: "Add people" });
    await add.getByLabel(carol.fullName).check();
    await add.getByRole("button", { name: "Add", exact: true }).click();
    await until(
      async () => (await A.page.locator("#room-sub").textContent()).includes(carol.fullName),
      () => "carol is not listed as a member of the group",
    );
    await sendText(A.page, groupHello);
    const entry = roomEntry(B.page, groupName);
    await visible(entry.getByTestId("unread"), "the group with an unread badge in bob's list");
    const rooms = await apiGet(carol, "/api/rooms");
    const g = rooms.find((r) => r.name === groupName);
    if (!g) fail("carol is not a member of the group (GET /api/rooms)");
    if (g.lastMessage?.text !== groupHello) fail(`carol's group lastMessage is ${JSON.stringify(g.lastMessage)}`);
  });

  await step("alice sends an image in the DM; bob sees it load", async () => {
    await roomEntry(A.page, bob.fullName).click();
    await A.page.getByTestId("image-input").setInputFiles({ name: "gradient.png", mimeType: "image/png", buffer: PNG });
    await visible(A.page.getByRole("img", { name: "Image to send" }), "image preview");
    await A.page.getByRole("button", { name: "Send" }).click();
    await roomEntry(B.page, alice.fullName).click();
    const img = B.page.getByTestId("message-image");
    await visible(img, "the image message in bob's view");
    await until(
      () => img.first().evaluate((el, w) => el.complete && el.naturalWidth === w, PNG_W),
      () => "the image did not load in bob's view",
    );
  });

  const typo = `Tpyo here ${runId}`;
  const fixed = `Typo fixed ${runId}`;
  const doomed = `Delete me ${runId}`;
  await step("alice edits and deletes her messages; bob sees both live", async () => {
    await sendText(A.page, typo);
    await sendText(A.page, doomed);
    await visible(messageWith(B.page, doomed), "the message to delete, in bob's view");
    await messageWith(A.page, typo).getByRole("button", { name: "Edit message" }).click();
    const input = A.page.getByLabel("Edit message", { exact: true }).and(A.page.locator("input"));
    await input.fill(fixed);
    await input.press("Enter");
    await visible(messageWith(B.page, fixed).getByTestId("edited"), "the edited message, marked edited, in bob's view");
    if (await messageWith(B.page, typo).count()) fail("bob still shows the old text");
    await messageWith(A.page, doomed).getByRole("button", { name: "Delete message" }).click();
    await messageWith(A.page, doomed).getByRole("button", { name: "Delete", exact: true }).click();
    await gone(messageWith(A.page, doomed), "the deleted message in alice's view");
    await gone(messageWith(B.page, doomed), "the deleted message in bob's view");
  });

  const missed = [1, 2, 3].map((i) => `Missed ${i} ${runId}`);
  await step("bob goes offline, alice sends 3, bob comes back and shows them once, in order", async () => {
    await B.context.setOffline(true);
    await visible(B.page.getByTestId("connection"), "bob's offline banner");
    for (const t of missed) await sendText(A.page, t);
    if (await messageWith(B.page, missed[0]).count()) fail("bob got a message while offline: the socket stayed up");
    const seenBefore = B.http.length;
    await B.context.setOffline(false);
    for (const t of missed) await visible(messageWith(B.page, t), `"${t}" in bob's view after reconnecting`);
    const catchUp = B.http.slice(seenBefore).filter((l) => /GET \/api\/rooms\/[^/]+\/messages\?after=.* -> 200/.test(l));
    if (!catchUp.length) fail(`bob did not fetch the missed messages with ?after= (${B.http.slice(seenBefore).join("; ")})`);
    await B.page.getByTestId("connection").waitFor({ state: "hidden", timeout: STEP_MS });
    // Live delivery is back: one more message arrives over the socket...
    const after = `Back live ${runId}`;
    await sendText(A.page, after);
    await visible(messageWith(B.page, after), "a live message after the reconnect");
    // ...and each missed message is there exactly once, in order.
    const texts = await messageTexts(B.page);
    for (const t of missed) {
      const n = await messageWith(B.page, t).count();
      if (n !== 1) fail(`"${t}" is shown ${n} times`);
    }
    const order = [...missed, after].map((t) => texts.indexOf(t));
    if (order.some((i, k) => i < 0 || (k > 0 && i <= order[k - 1])))
      fail(`bob's messages are out of order: ${JSON.stringify(texts.slice(-6))}`);
    const all = texts.length;
    if (new Set(texts).size !== all) fail(`bob shows duplicates: ${JSON.stringify(texts)}`);
  });

  if (SHOTS) {
    await step(`screenshots into ${SHOTS}`, async () => {
      mkdirSync(SHOTS, { recursive: true });
      await A.page.getByLabel("Message", { exact: true }).fill("");
      await B.page.getByLabel("Message", { exact: true }).pressSequentially("See you", { delay: 20 });
      await until(
        async () => (await A.page.getByTestId("typing").textContent()) !== "",
        () => "typing indicator for the screenshot",
      );
      await A.page.screenshot({ path: join(SHOTS, "webclient-desktop.png") });
      const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 1 });
      const cookies = await A.context.cookies(base);
      await phone.addCookies(cookies);
      const p = await phone.newPage();
      await p.goto(`${base}/`);
      await visible(p.getByTestId("room"), "rooms on the phone");
      await p.getByTestId("room").filter({ hasText: bob.fullName }).click();
      await visible(messageWith(p, `Back live ${runId}`), "the conversation on the phone");
      await until(
        () => p.getByTestId("message-image").first().evaluate((el) => el.complete && el.naturalWidth > 0),
        () => "the image on the phone did not load",
      );
      await p.screenshot({ path: join(SHOTS, "webclient-phone.png") });
      await phone.close();
    });
  }

  await step("phone width: the sidebar and the conversation take turns", async () => {
    await B.page.setViewportSize({ width: 375, height: 740 });
    await visible(B.page.getByRole("button", { name: "Back to conversations" }), "back button at 375 px");
    if (await B.page.locator("#sidebar").isVisible()) fail("the sidebar covers the open conversation at 375 px");
    await B.page.getByRole("button", { name: "Back to conversations" }).click();
    await visible(B.page.locator("#sidebar"), "the sidebar after Back");
    const width = await B.page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 375) fail(`the page is ${width} px wide at a 375 px viewport`);
  });

  await step("alice logs out and gets the login form, also after a reload", async () => {
    await A.page.getByRole("button", { name: "Log out" }).click();
    await visible(A.page.getByTestId("login-form"), "login form after logout");
    await A.page.reload();
    await visible(A.page.getByTestId("login-form"), "login form after logout and reload");
    await online(B.page, alice, false);
  });

  await step("a wrong password shows the API's error; alice logs in and finds her conversations", async () => {
    const form = A.page.getByTestId("login-form");
    await form.getByLabel("Email or username").fill(alice.email);
    await form.getByLabel("Password").fill(`${alice.password}-wrong`);
    await form.getByRole("button", { name: "Log in" }).click();
    await until(
      async () => (await A.page.getByTestId("login-error").textContent()).includes("Invalid credentials"),
      async () => `a wrong password shows "${await A.page.getByTestId("login-error").textContent()}"`,
    );
    await form.getByLabel("Password").fill(alice.password);
    await form.getByRole("button", { name: "Log in" }).click();
    await until(
      async () => (await A.page.getByTestId("current-user").textContent()) === alice.fullName,
      () => "alice is not logged in after submitting the login form",
    );
    await visible(roomEntry(A.page, groupName), "the group in alice's list after logging in");
    await online(B.page, alice, true);
  });

  await step("the web client ran under its strict Content-Security-Policy with no violation", async () => {
    const violations = actors.flatMap((a) => a.csp.map((v) => `${a.user.key}: ${v}`));
    if (violations.length) fail(`CSP violations:\n    ${violations.join("\n    ")}`);
  });

  await step("/docs/ renders natter's own OpenAPI document, with no request off the origin", () => docsPage());
}

// Swagger UI at /docs/, in a fresh context: every request it makes (documents, scripts,
// styles, images, the spec, fetches from workers) is recorded and must stay on `base`'s
// origin; data: and blob: URLs are not network requests and are allowed.
async function docsPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const actor = { user: { key: "docs", email: "no user" }, context, page, docs: true };
  instrument(actor);
  actors.push(actor);
  const origin = new URL(base).origin;
  const offOrigin = [];
  const bad = [];
  context.on("request", (r) => {
    const u = new URL(r.url());
    actor.http.push(`[${elapsed()}] ${r.method()} ${r.url()}`);
    if (u.protocol !== "data:" && u.protocol !== "blob:" && u.origin !== origin) offOrigin.push(`${r.method()} ${r.url()}`);
  });
  context.on("response", (r) => {
    if (r.status() >= 400) bad.push(`${r.request().method()} ${new URL(r.url()).pathname} -> ${r.status()}`);
  });
  context.on("requestfailed", (r) => bad.push(`${r.method()} ${r.url()} -> failed: ${r.failure()?.errorText}`));
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));

  const spec = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/openapi.json");
  const resp = await page.goto(`${base}/docs/`, { waitUntil: "domcontentloaded" });
  if (resp.status() !== 200) fail(`GET /docs/ returned ${resp.status()}`);
  const specResp = await spec;
  if (specResp.status() !== 200) fail(`the docs page's GET /api/openapi.json returned ${specResp.status()}`);

  const title = page.locator(".information-container .info .title");
  await visible(title, "the document title in Swagger UI (did /docs/ render?)");
  const titleText = (await title.textContent()).trim();
  if (!/^natter\b/.test(titleText) || !titleText.includes("OAS 3.1"))
    fail(`Swagger UI's title reads "${titleText}", expected natter's document (OAS 3.1)`);
  const login = page.locator(".opblock.opblock-post").filter({
    has: page.locator('.opblock-summary-path[data-path="/api/auth/login"]'),
  });
  await visible(login, "the operation POST /api/auth/login");
  // Expand it: its request body and responses come from natter's schemas.
  await login.locator(".opblock-summary-control").first().click();
  await visible(login.locator(".opblock-body .responses-wrapper"), "the expanded POST /api/auth/login");
  await visible(login.locator(".responses-table .response-col_status").filter({ hasText: "429" }), "login's 429 response");
  const ops = await page.locator(".opblock").count();
  if (ops < 20) fail(`Swagger UI lists ${ops} operations; natter's document has more`);

  if (offOrigin.length) fail(`the docs page made requests off ${origin}:\n    ${offOrigin.join("\n    ")}`);
  if (bad.length) fail(`the docs page had failed requests:\n    ${bad.join("\n    ")}`);
  if (pageErrors.length) fail(`the docs page threw: ${pageErrors.join("; ")}`);
  const csp = resp.headers()["content-security-policy"] || "";
  if (!csp.includes("script-src 'self'") || csp.includes("unsafe-inline"))
    fail(`/docs/ is not served under natter's strict CSP: "${csp}"`);
  if (actor.csp.length) fail(`the docs page violated its CSP:\n    ${actor.csp.join("\n    ")}`);
  log(`     /docs/: ${ops} operations, ${actor.http.length} requests, all to ${origin}`);

  if (SHOTS) {
    await page.evaluate(() => document.activeElement?.blur());
    await page.screenshot({ path: join(SHOTS, "docs-page.png") });
  }
  await context.close();
  actors.pop();
}

const timer = setTimeout(async () => {
  await report(new StepError(`overall timeout of ${OVERALL_MS} ms exceeded`)).catch(() => {});
  console.error("\nwebclient e2e: FAILED (timeout)");
  process.exit(3);
}, OVERALL_MS);

let code = 0;
try {
  await main();
  for (const a of actors) log(`${a.user.key}: ${a.websockets} WebSocket connection(s) opened`);
  log("webclient e2e: all steps passed");
} catch (e) {
  code = 1;
  await report(e).catch((r) => console.error(`(could not collect diagnostics: ${r.message})`));
  console.error("\nwebclient e2e: FAILED");
} finally {
  clearTimeout(timer);
  await Promise.race([browser?.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
}
process.exit(code);
