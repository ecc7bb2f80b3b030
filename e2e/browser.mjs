#!/usr/bin/env node
// Browser end-to-end test: drives the production build of the tutorial chat
// frontend (e2e/frontend, served by natter) in headless Chromium.
//
//   node e2e/browser.mjs http://127.0.0.1:3000
//
// Env: CHROMIUM_PATH (default /usr/bin/chromium), E2E_TIMEOUT_MS (default 60000),
//      E2E_ARTIFACTS_DIR (where failure screenshots go; default a temp dir),
//      E2E_REQUIRE_REALTIME=1 (fail unless the reply arrives live over Socket.IO).
// Exit codes: 0 passed, 1 a step failed, 2 bad usage / browser would not start,
//             3 overall timeout.
import { chromium } from "playwright-core";
import { existsSync, mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const started = Date.now();
const base = (process.argv[2] || "").replace(/\/+$/, "");
if (!/^https?:\/\/[^/]+$/.test(base)) {
  console.error("usage: node browser.mjs <server base URL, e.g. http://127.0.0.1:3000>");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const OVERALL_MS = Number(process.env.E2E_TIMEOUT_MS || 60_000);
const STEP_MS = 10_000;
const REQUIRE_REALTIME = process.env.E2E_REQUIRE_REALTIME === "1";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

if (!existsSync(CHROMIUM)) {
  console.error(`FAIL: Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  process.exit(2);
}

// A valid 1x1 PNG, used as a profile picture and as an image message.
const PNG_1x1 = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const PASSWORD = `Pw-${runId}-e2e!`;
const alice = { name: "A", fullName: `Alice ${runId}`, email: `alice.${runId}@example.com`, password: PASSWORD };
const bob = { name: "B", fullName: `Bob ${runId}`, email: `bob.${runId}@example.com`, password: PASSWORD };
const TEXT_A = `Hello Bob from Alice ${runId}`;
const TEXT_B = `Hi Alice, Bob here ${runId}`;

let browser;
let currentStep = "start";
const actors = [];
const notes = [];

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
  actor.api = []; // every /api/ and /uploads/ exchange, for failure reports
  actor.console = [];
  actor.socket = { responses: 0, errors: [] };
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning" || /socket|error/i.test(m.text()))
      actor.console.push(`${m.type()}: ${m.text()}`.slice(0, 300));
  });
  page.on("pageerror", (e) => actor.console.push(`pageerror: ${e.message}`.slice(0, 300)));
  page.on("requestfailed", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/socket.io/")) actor.socket.errors.push(r.failure()?.errorText || "failed");
    else actor.api.push(`${r.method()} ${u.pathname} -> request failed: ${r.failure()?.errorText}`);
  });
  page.on("response", async (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/socket.io/")) {
      actor.socket.responses++;
      if (r.status() >= 400) actor.socket.errors.push(`HTTP ${r.status()}`);
      else if (/text\/html/.test(r.headers()["content-type"] || ""))
        actor.socket.errors.push(`HTTP ${r.status()} text/html (no Socket.IO endpoint: index.html fallback?)`);
      return;
    }
    if (!u.pathname.startsWith("/api/") && !u.pathname.startsWith("/uploads/")) return;
    let line = `${r.request().method()} ${u.pathname}${u.search} -> ${r.status()}`;
    if (r.status() >= 400) {
      try {
        line += ` ${(await r.text()).slice(0, 300)}`;
      } catch {
        /* body gone */
      }
    }
    actor.api.push(line);
  });
}

async function report(err) {
  const msg = String(err?.message || err).replace(/\x1b\[[0-9;]*m/g, "");
  console.error(`\nFAIL at step "${currentStep}" after ${elapsed()}:\n  ${msg}`);
  if (!(err instanceof StepError)) {
    const where = String(err?.stack || "").split("\n").find((l) => l.includes("browser.mjs"));
    if (where) console.error(`  (${where.trim()})`);
  }
  let dir = process.env.E2E_ARTIFACTS_DIR;
  try {
    if (dir) mkdirSync(dir, { recursive: true });
    else dir = mkdtempSync(join(tmpdir(), "natter-e2e-"));
  } catch {
    dir = undefined;
  }
  for (const a of actors) {
    console.error(`\n--- user ${a.user.name} (${a.user.email}) page ${a.page.url()}`);
    try {
      const toasts = await a.page.locator('[role="status"]').allInnerTexts();
      if (toasts.length) console.error(`toasts: ${JSON.stringify(toasts)}`);
    } catch {
      /* page gone */
    }
    console.error(`HTTP (last 25):\n  ${a.api.slice(-25).join("\n  ") || "(none)"}`);
    if (a.console.length) console.error(`console (last 10):\n  ${a.console.slice(-10).join("\n  ")}`);
    if (dir) {
      const file = join(dir, `user-${a.user.name}.png`);
      try {
        await a.page.screenshot({ path: file, fullPage: true, timeout: 3000 });
        console.error(`screenshot: ${file}`);
      } catch {
        /* best effort */
      }
    }
  }
}

// ------------------------------------------------------------------- helpers

function isApi(method, path) {
  return (r) => r.request().method() === method && new URL(r.url()).pathname === path;
}

// Runs `action` and waits for the API response it triggers; checks its status.
async function expectApi(page, method, path, expected, action) {
  const pathOk = typeof path === "string" ? (p) => p === path : (p) => path.test(p);
  const [resp] = await Promise.all([
    page
      .waitForResponse((r) => r.request().method() === method && pathOk(new URL(r.url()).pathname), {
        timeout: STEP_MS,
      })
      .catch(() => fail(`no ${method} ${path} response within ${STEP_MS} ms`)),
    action(),
  ]);
  if (resp.status() !== expected) {
    let body = "";
    try {
      body = (await resp.text()).slice(0, 500);
    } catch {
      /* ignore */
    }
    fail(`${method} ${new URL(resp.url()).pathname} returned ${resp.status()} (expected ${expected}): ${body}`);
  }
  let json;
  try {
    json = await resp.json();
  } catch {
    fail(`${method} ${new URL(resp.url()).pathname} returned a non-JSON body`);
  }
  return { resp, json };
}

async function visible(locator, what, timeout = STEP_MS) {
  try {
    await locator.first().waitFor({ state: "visible", timeout });
  } catch {
    fail(`${what}: not visible within ${timeout} ms`);
  }
}

async function currentUserShown(page, user) {
  const cu = page.getByTestId("current-user");
  await visible(cu, `navbar should show the logged-in user ${user.fullName}`);
  const text = (await cu.innerText()).trim();
  if (text !== user.fullName) fail(`navbar shows "${text}", expected "${user.fullName}"`);
}

function checkUserJson(json, user, what) {
  for (const f of ["_id", "fullName", "email", "profilePic", "createdAt"])
    if (!(f in json)) fail(`${what}: response lacks "${f}": ${JSON.stringify(json).slice(0, 300)}`);
  if (typeof json._id !== "string" || !json._id) fail(`${what}: "_id" is not a non-empty string`);
  if (json.fullName !== user.fullName) fail(`${what}: fullName ${JSON.stringify(json.fullName)}`);
  if (json.email !== user.email.toLowerCase()) fail(`${what}: email ${JSON.stringify(json.email)}`);
  if ("password" in json) fail(`${what}: response contains a password field`);
}

function checkMessageJson(m, senderId, receiverId, what) {
  for (const f of ["_id", "senderId", "text", "createdAt"])
    if (!(f in m)) fail(`${what}: message lacks "${f}": ${JSON.stringify(m).slice(0, 300)}`);
  if (m.senderId !== senderId) fail(`${what}: senderId ${m.senderId}, expected ${senderId}`);
  if ("receiverId" in m && m.receiverId !== receiverId)
    fail(`${what}: receiverId ${m.receiverId}, expected ${receiverId}`);
  if (Number.isNaN(Date.parse(m.createdAt))) fail(`${what}: createdAt ${JSON.stringify(m.createdAt)} is not a date`);
}

const sidebarUser = (page, user) => page.getByTestId("sidebar-user").filter({ hasText: user.fullName });
const messageWith = (page, text) => page.getByTestId("message").filter({ hasText: text });

async function messagesInView(page) {
  return page.getByTestId("message").evaluateAll((els) =>
    els.map((e) => ({ sender: e.dataset.senderId, text: e.querySelector('[data-testid="message-text"]')?.textContent || "" })),
  );
}

// Opens the conversation with `other` from the sidebar; returns the messages JSON.
async function openConversation(actor, other) {
  const { page } = actor;
  const entry = sidebarUser(page, other);
  await visible(entry, `${actor.user.name}'s sidebar should list ${other.fullName}`);
  const { json } = await expectApi(page, "GET", `/api/messages/${other.id}`, 200, () => entry.first().click());
  if (!Array.isArray(json)) fail(`GET /api/messages/${other.id} did not return an array`);
  const header = page.getByTestId("chat-header-name");
  await visible(header, "chat header");
  if ((await header.innerText()).trim() !== other.fullName) fail(`chat header shows "${await header.innerText()}"`);
  return json;
}

async function sendText(actor, other, text) {
  const { page } = actor;
  await page.getByTestId("message-input").fill(text);
  const { resp, json } = await expectApi(page, "POST", `/api/messages/send/${other.id}`, 201, () =>
    page.getByTestId("message-send").click(),
  );
  const sent = resp.request().postDataJSON();
  if (sent?.text !== text || sent?.image !== null)
    fail(`frontend sent an unexpected body: ${JSON.stringify(sent)}`); // the tutorial's exact body
  checkMessageJson(json, actor.user.id, other.id, `POST /api/messages/send/${other.id}`);
  if (json.text !== text) fail(`sent message came back with text ${JSON.stringify(json.text)}`);
  const el = messageWith(page, text);
  await visible(el, `${actor.user.name} should see the sent message "${text}"`);
  const cls = await el.first().getAttribute("class");
  if (!cls.includes("own")) fail(`the sent message is not rendered as the sender's own (senderId mismatch?)`);
}

async function imageLoaded(locator, what) {
  await visible(locator, what);
  const ok = await locator
    .first()
    .evaluate(
      (img) =>
        new Promise((resolve) => {
          const done = () => resolve(img.complete && img.naturalWidth > 0);
          if (img.complete) done();
          else {
            img.addEventListener("load", done, { once: true });
            img.addEventListener("error", () => resolve(false), { once: true });
          }
        }),
    )
    .catch(() => false);
  if (!ok) fail(`${what}: image ${await locator.first().getAttribute("src").catch(() => "?")} did not load`);
}

async function signupThroughUi(actor) {
  const { page, user } = actor;
  await page.goto(`${base}/signup`, { waitUntil: "domcontentloaded" });
  await visible(page.getByTestId("signup-form"), "signup form (is the frontend served at / with an index.html fallback?)");
  await page.getByTestId("signup-fullname").fill(user.fullName);
  await page.getByTestId("signup-email").fill(user.email);
  await page.getByTestId("signup-password").fill(user.password);
  const { json } = await expectApi(page, "POST", "/api/auth/signup", 201, () => page.getByTestId("signup-submit").click());
  checkUserJson(json, user, "POST /api/auth/signup");
  user.id = json._id;
  await currentUserShown(page, user);
  await page.waitForURL(`${base}/`, { timeout: STEP_MS }).catch(() => fail(`after signup the app is at ${page.url()}, not /`));
  const cookies = await actor.context.cookies(base);
  const jwt = cookies.find((c) => c.name === "jwt");
  if (!jwt) fail(`no "jwt" cookie after signup (cookies: ${cookies.map((c) => c.name).join(", ") || "none"})`);
  if (!jwt.httpOnly) fail(`the "jwt" cookie is not HttpOnly`);
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
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    const actor = { user, context, page };
    instrument(actor);
    actors.push(actor);
  }
  const [A, B] = actors;

  await step("A signs up through the UI", () => signupThroughUi(A));
  await step("B signs up through the UI", () => signupThroughUi(B));

  await step("A reloads and sees B in the sidebar", async () => {
    const { json } = await expectApi(A.page, "GET", "/api/messages/users", 200, () => A.page.reload());
    if (!Array.isArray(json)) fail("GET /api/messages/users did not return an array");
    if (json.some((u) => u._id === alice.id)) fail("GET /api/messages/users includes the caller");
    const b = json.find((u) => u._id === bob.id);
    if (!b) fail(`GET /api/messages/users lacks B (${bob.id})`);
    checkUserJson(b, bob, "B in GET /api/messages/users");
    await visible(sidebarUser(A.page, bob), `A's sidebar should list ${bob.fullName}`);
    const idAttr = await sidebarUser(A.page, bob).first().getAttribute("data-user-id");
    if (idAttr !== bob.id) fail(`sidebar entry for B has id ${idAttr}, expected ${bob.id}`);
  });

  await step("A opens the conversation with B and sends a message", async () => {
    const msgs = await openConversation(A, bob);
    if (msgs.length !== 0) fail(`a new conversation already has ${msgs.length} messages`);
    await sendText(A, bob, TEXT_A);
  });

  await step("B opens the conversation with A and sees A's message", async () => {
    const msgs = await openConversation(B, alice);
    if (msgs.length !== 1) fail(`B's GET /api/messages/${alice.id} returned ${msgs.length} messages, expected 1`);
    checkMessageJson(msgs[0], alice.id, bob.id, `GET /api/messages/${alice.id}`);
    const el = messageWith(B.page, TEXT_A);
    await visible(el, `B should see "${TEXT_A}"`);
    if ((await el.first().getAttribute("data-sender-id")) !== alice.id) fail("A's message does not carry A's senderId");
    if ((await el.first().getAttribute("class")).includes("own")) fail("A's message is rendered as B's own");
  });

  await step("B replies", () => sendText(B, alice, TEXT_B));

  await step("A sees the reply (live over Socket.IO if it works, else after reload)", async () => {
    let live = false;
    try {
      await messageWith(A.page, TEXT_B).first().waitFor({ state: "visible", timeout: 3000 });
      live = true;
    } catch {
      /* no realtime delivery */
    }
    const s = A.socket;
    notes.push(
      `realtime: reply ${live ? "arrived live via newMessage" : "did NOT arrive live"} ` +
        `(socket.io responses seen: ${s.responses}, errors: ${s.errors.length ? [...new Set(s.errors)].join("; ") : "none"})`,
    );
    if (!live && REQUIRE_REALTIME) fail("E2E_REQUIRE_REALTIME=1 but the reply did not arrive over Socket.IO within 3 s");
    await A.page.reload();
    await currentUserShown(A.page, alice);
    const msgs = await openConversation(A, bob);
    const texts = msgs.map((m) => m.text);
    if (texts.join("|") !== [TEXT_A, TEXT_B].join("|"))
      fail(`GET /api/messages/${bob.id} returned texts ${JSON.stringify(texts)}, expected [A's, B's] oldest first`);
    await visible(messageWith(A.page, TEXT_B), `A should see "${TEXT_B}" after reload`);
    const view = await messagesInView(A.page);
    if (view.length !== 2 || view[0].sender !== alice.id || view[1].sender !== bob.id)
      fail(`A's chat shows ${JSON.stringify(view)}`);
  });

  await step("A logs out", async () => {
    const { json } = await expectApi(A.page, "POST", "/api/auth/logout", 200, () =>
      A.page.getByTestId("logout-button").click(),
    );
    if (typeof json?.message !== "string") fail(`logout body ${JSON.stringify(json)}`);
    await visible(A.page.getByTestId("login-form"), "login page after logout");
    // The cookie must really be gone: a fresh load stays on the login page.
    await expectApi(A.page, "GET", "/api/auth/check", 401, () => A.page.reload());
    await visible(A.page.getByTestId("login-form"), "login page after logout and reload");
  });

  await step("A logs in through the login page and still sees the conversation", async () => {
    await A.page.getByTestId("login-email").fill(alice.email);
    await A.page.getByTestId("login-password").fill(alice.password);
    const { json } = await expectApi(A.page, "POST", "/api/auth/login", 200, () =>
      A.page.getByTestId("login-submit").click(),
    );
    checkUserJson(json, alice, "POST /api/auth/login");
    if (json._id !== alice.id) fail(`login returned _id ${json._id}, signup gave ${alice.id}`);
    await currentUserShown(A.page, alice);
    await openConversation(A, bob);
    await visible(messageWith(A.page, TEXT_A), `A should see "${TEXT_A}" after logging in again`);
    await visible(messageWith(A.page, TEXT_B), `A should see "${TEXT_B}" after logging in again`);
  });

  await step("A changes the profile picture (PUT /api/auth/update-profile with a data URL)", async () => {
    await A.page.getByTestId("profile-link").click();
    await visible(A.page.getByTestId("avatar-upload"), "profile page");
    const { json } = await expectApi(A.page, "PUT", "/api/auth/update-profile", 200, () =>
      A.page.getByTestId("avatar-upload").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: PNG_1x1 }),
    );
    checkUserJson(json, alice, "PUT /api/auth/update-profile");
    if (typeof json.profilePic !== "string" || !json.profilePic) fail("update-profile returned an empty profilePic");
    alice.profilePic = json.profilePic;
    await A.page.reload();
    const saved = await A.page.getByTestId("profile-saved-pic").getAttribute("data-src");
    if (saved !== alice.profilePic) fail(`after reload /api/auth/check has profilePic ${saved}, expected ${alice.profilePic}`);
    await imageLoaded(A.page.getByTestId("profile-avatar"), "A's new profile picture");
  });

  await step("A sends an image message", async () => {
    await A.page.goto(`${base}/`);
    await openConversation(A, bob);
    await A.page
      .getByTestId("message-image-input")
      .setInputFiles({ name: "pic.png", mimeType: "image/png", buffer: PNG_1x1 });
    await visible(A.page.getByTestId("image-preview"), "image preview");
    const { resp, json } = await expectApi(A.page, "POST", `/api/messages/send/${bob.id}`, 201, () =>
      A.page.getByTestId("message-send").click(),
    );
    const sent = resp.request().postDataJSON();
    if (sent?.text !== "" || !String(sent?.image).startsWith("data:image/png;base64,"))
      fail(`frontend sent an unexpected body: ${JSON.stringify(sent).slice(0, 200)}`);
    checkMessageJson(json, alice.id, bob.id, "image message");
    if (typeof json.image !== "string" || !json.image) fail(`image message came back without "image"`);
    await imageLoaded(A.page.getByTestId("message-image"), "the image message in A's chat");
  });

  await step("B reloads and sees A's picture and image message", async () => {
    await B.page.reload();
    await currentUserShown(B.page, bob);
    const avatar = sidebarUser(B.page, alice).locator("img");
    await visible(avatar, "A's avatar in B's sidebar");
    const src = await avatar.first().getAttribute("src");
    if (src !== alice.profilePic) fail(`B's sidebar shows A's avatar ${src}, expected ${alice.profilePic}`);
    await imageLoaded(avatar, "A's avatar in B's sidebar");
    const msgs = await openConversation(B, alice);
    if (msgs.length !== 3) fail(`B sees ${msgs.length} messages, expected 3`);
    await imageLoaded(B.page.getByTestId("message-image"), "the image message in B's chat");
  });
}

const timer = setTimeout(async () => {
  await report(new StepError(`overall timeout of ${OVERALL_MS} ms exceeded`)).catch(() => {});
  console.error("\nbrowser e2e: FAILED (timeout)");
  process.exit(3);
}, OVERALL_MS);

let code = 0;
try {
  await main();
  for (const n of notes) log(n);
  log("browser e2e: all steps passed");
} catch (e) {
  code = e?.code === 2 ? 2 : 1;
  await report(e).catch((r) => console.error(`(could not collect diagnostics: ${r.message})`));
  for (const n of notes) console.error(n);
  console.error("\nbrowser e2e: FAILED");
} finally {
  clearTimeout(timer);
  await Promise.race([browser?.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
}
process.exit(code);
