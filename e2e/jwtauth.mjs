#!/usr/bin/env node
// Browser end-to-end test of the JWT-auth tutorial's client (e2e/jwt-auth-client, the same
// calls as its React client) against natter: the client is served from its own origin,
// http://localhost:8081 (the tutorial's dev server port, allowed by natter's CORS default
// in development), and calls natter cross-origin with axios, without credentials.
//
//   node e2e/jwtauth.mjs http://127.0.0.1:8080
//
// Steps: public board; sign up (admin first: the first account of an instance is its
// admin), a taken username refused; sign in with a wrong password refused; sign in; profile
// with ROLE_USER; user board; admin board refused; a forged token (401) logs the client
// out; an expired token is logged out by the client; logout; the admin's admin and
// moderator boards.
//
// Env: CHROMIUM_PATH (default /usr/bin/chromium), JWT_CLIENT_PORT (default 8081),
//      E2E_ARTIFACTS_DIR (failure screenshot and console log), E2E_TIMEOUT_MS (default 60000).
// Exit codes: 0 passed, 1 a step failed, 2 bad usage / browser or port unavailable, 3 timeout.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const api = (process.argv[2] || "").replace(/\/+$/, "");
if (!/^https?:\/\/[^/]+$/.test(api)) {
  console.error("usage: node jwtauth.mjs <natter base URL, e.g. http://127.0.0.1:8080>");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const PORT = Number(process.env.JWT_CLIENT_PORT || 8081);
const OVERALL_MS = Number(process.env.E2E_TIMEOUT_MS || 60_000);
const STEP_MS = 10_000;
const here = dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.E2E_ARTIFACTS_DIR || mkdtempSync(join(tmpdir(), "jwtauth-e2e-"));
mkdirSync(artifacts, { recursive: true });
if (!existsSync(CHROMIUM)) {
  console.error(`FAIL: Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  process.exit(2);
}

// The client's own dev server: three static files.
const files = {
  "/": ["jwt-auth-client/index.html", "text/html; charset=utf-8"],
  "/index.html": ["jwt-auth-client/index.html", "text/html; charset=utf-8"],
  "/app.js": ["jwt-auth-client/app.js", "text/javascript; charset=utf-8"],
  "/axios.js": ["node_modules/axios/dist/esm/axios.min.js", "text/javascript; charset=utf-8"],
};
const server = createServer((req, res) => {
  const entry = files[new URL(req.url, "http://x").pathname];
  if (!entry) {
    res.writeHead(404).end("not found");
    return;
  }
  res.writeHead(200, { "content-type": entry[1] }).end(readFileSync(join(here, entry[0])));
});
await new Promise((resolve) => {
  server.once("error", (e) => {
    console.error(`FAIL: cannot serve the client on port ${PORT}: ${e.message}`);
    process.exit(2);
  });
  server.listen(PORT, "127.0.0.1", resolve);
});
const origin = `http://localhost:${PORT}`;
const clientUrl = (hash) => `${origin}/?api=${encodeURIComponent(api)}#/${hash}`;

const timer = setTimeout(() => {
  console.error(`FAIL: overall timeout after ${OVERALL_MS} ms`);
  process.exit(3);
}, OVERALL_MS);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const context = await browser.newContext();
const page = await context.newPage();
page.setDefaultTimeout(STEP_MS);
const consoleLines = [];
page.on("console", (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
page.on("pageerror", (e) => consoleLines.push(`[pageerror] ${e.message}`));
const cors = [];
page.on("response", (r) => {
  if (r.url().startsWith(api)) cors.push([r.url(), r.status(), r.headers()["access-control-allow-origin"]]);
});

let step = "start";
async function check(name, fn) {
  step = name;
  await fn();
  console.log(`ok - ${name}`);
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}
const text = async (selector) => (await page.locator(selector).first().textContent())?.trim();
const waitText = (selector, expected) =>
  page.waitForFunction(
    ([s, t]) => document.querySelector(s)?.textContent.trim() === t,
    [selector, expected],
    { timeout: STEP_MS },
  ).catch(async () => {
    throw new Error(`${selector} should read ${JSON.stringify(expected)}, reads ${JSON.stringify(await text(selector))}`);
  });
// A full page load of a route (a hash-only change to the current URL would not reload it).
async function open(hash) {
  await page.goto("about:blank");
  await page.goto(clientUrl(hash));
}
const storedUser = () => page.evaluate(() => JSON.parse(localStorage.getItem("user")));

async function signUp(username) {
  await open("register");
  await page.fill("#register-username", username);
  await page.fill("#register-email", `${username}@example.com`);
  await page.fill("#register-password", "Sup3r-secret-pw");
  await page.click("#register button[type=submit]");
}
async function signIn(username, password = "Sup3r-secret-pw") {
  await open("login");
  await page.fill("#login-username", username);
  await page.fill("#login-password", password);
  await page.click("#login button[type=submit]");
}

try {
  await check("the public board is served to anyone", async () => {
    await open("home");
    await waitText("#board", "Public Content.");
  });
  await check("sign up shows the server's message", async () => {
    await signUp("boss");
    await waitText("#success", "User registered successfully!");
    await signUp("alice");
    await waitText("#success", "User registered successfully!");
  });
  await check("a taken username is refused with the server's message", async () => {
    await signUp("alice");
    await page.waitForSelector("#error");
    const message = await text("#error");
    expect(/already exists/i.test(message), `error should say the account exists: ${message}`);
  });
  await check("a wrong password is refused with the server's message", async () => {
    await signIn("alice", "wrong-password-1");
    await page.waitForSelector("#error");
    expect((await text("#error")) === "Invalid credentials", `got ${await text("#error")}`);
    expect((await storedUser()) === null, "nothing stored after a failed sign-in");
  });
  await check("sign in stores the user and shows the profile with ROLE_USER", async () => {
    await signIn("alice");
    await waitText("#profile-username", "alice");
    const user = await storedUser();
    expect(user && user.accessToken && user.refreshToken, `localStorage user: ${JSON.stringify(user)}`);
    expect((await text("#profile-id")) === String(user.id) && user.id, "profile shows the id");
    expect((await text("#profile-email")) === "alice@example.com", "profile shows the email");
    const roles = await page.locator("#profile-roles li").allTextContents();
    expect(JSON.stringify(roles) === '["ROLE_USER"]', `roles: ${JSON.stringify(roles)}`);
    expect((await page.locator("#nav-admin, #nav-mod").count()) === 0, "no boards above the user's role");
  });
  await check("the user board answers with x-access-token", async () => {
    await page.click("#nav-user");
    await waitText("#board", "User Content.");
  });
  await check("the admin board is refused, and a 403 keeps the user signed in", async () => {
    await open("admin");
    await waitText("#board", "Require Admin Role!");
    expect((await storedUser()) !== null, "still signed in");
  });
  await check("a forged token gets a 401 and the client logs out", async () => {
    await page.evaluate(() => {
      const user = JSON.parse(localStorage.getItem("user"));
      const [h, p] = user.accessToken.split(".");
      user.accessToken = `${h}.${p}.forged-signature`;
      localStorage.setItem("user", JSON.stringify(user));
    });
    await open("user");
    await waitText("#board", "Unauthorized!");
    await page.waitForFunction(() => localStorage.getItem("user") === null);
    await page.waitForSelector("#nav-login");
  });
  await check("a token past its exp is logged out by the client", async () => {
    await signIn("alice");
    await waitText("#profile-username", "alice");
    const exp = await page.evaluate(() => {
      const user = JSON.parse(localStorage.getItem("user"));
      const payload = JSON.parse(atob(user.accessToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return payload.exp;
    });
    expect(exp * 1000 > Date.now(), `a fresh token is not expired (exp ${exp})`);
    await page.evaluate(() => {
      const user = JSON.parse(localStorage.getItem("user"));
      const b64 = (o) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
      user.accessToken = `${b64({ alg: "HS256" })}.${b64({ exp: 1 })}.x`;
      localStorage.setItem("user", JSON.stringify(user));
    });
    await open("home");
    await page.waitForSelector("#nav-login");
    expect((await storedUser()) === null, "the expired user is removed");
  });
  await check("logout clears the stored user", async () => {
    await signIn("alice");
    await waitText("#profile-username", "alice");
    await page.click("#nav-logout");
    await page.waitForSelector("#nav-login");
    expect((await storedUser()) === null, "localStorage user removed");
  });
  await check("the admin sees and opens the admin and moderator boards", async () => {
    await signIn("boss");
    await waitText("#profile-username", "boss");
    const roles = await page.locator("#profile-roles li").allTextContents();
    expect(
      JSON.stringify(roles) === '["ROLE_USER","ROLE_MODERATOR","ROLE_ADMIN"]',
      `admin roles: ${JSON.stringify(roles)}`,
    );
    await page.click("#nav-admin");
    await waitText("#board", "Admin Content.");
    await page.click("#nav-mod");
    await waitText("#board", "Moderator Content.");
  });
  await check("every API response allowed the client's origin", async () => {
    expect(cors.length > 10, `saw ${cors.length} API responses`);
    const refused = cors.filter(([, , allow]) => allow !== origin);
    expect(refused.length === 0, `responses without Access-Control-Allow-Origin ${origin}: ${JSON.stringify(refused)}`);
  });
  console.log("PASS: the JWT-auth tutorial's client works against natter");
  clearTimeout(timer);
  await browser.close();
  server.close();
  process.exit(0);
} catch (e) {
  console.error(`FAIL at "${step}": ${e.message}`);
  await page.screenshot({ path: join(artifacts, "jwtauth-failure.png"), fullPage: true }).catch(() => {});
  writeFileSync(join(artifacts, "jwtauth-console.log"), consoleLines.join("\n"));
  console.error(`console log and screenshot in ${artifacts}\n${consoleLines.slice(-20).join("\n")}`);
  await browser.close().catch(() => {});
  process.exit(1);
}
