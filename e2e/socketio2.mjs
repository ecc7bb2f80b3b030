#!/usr/bin/env node
// The chat-API tutorial's socket.io 2.x client (socket.io-client 2.5.0, Engine.IO v3, from
// the npm alias `socket.io-client-v2`) against a running natter, over long-polling and
// over websocket: it authenticates with `?token=` (2.x has no `auth` payload), `subscribe`s
// to a room it belongs to and gets `new message`; a room it is not in is refused; a
// handshake without a token is refused with a `connect_error`-style `error` event.
//
//   node e2e/socketio2.mjs http://127.0.0.1:3000
//
// Exit codes: 0 passed, 1 a step failed, 2 bad usage, 3 overall timeout.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const io = require("socket.io-client-v2");

const base = (process.argv[2] || "").replace(/\/+$/, "");
if (!/^https?:\/\/[^/]+$/.test(base)) {
  console.error("usage: node socketio2.mjs <server base URL>");
  process.exit(2);
}
const STEP_MS = 8000;
const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
setTimeout(() => {
  console.error("overall timeout");
  process.exit(3);
}, 45_000).unref();

const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const PASSWORD = `Pw-${runId}-v2!`;

async function rest(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return json;
}

async function account(name) {
  const email = `${name}-${runId}@example.com`;
  await rest("POST", "/api/auth/signup", { fullName: name, email, password: PASSWORD });
  const user = await rest("POST", "/api/auth/login", { email, password: PASSWORD });
  return { id: user._id, token: user.accessToken };
}

function within(ms, what, executor) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    executor(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function connect(transports, query) {
  return io(base, { transports, query, forceNew: true, reconnection: false });
}

async function main() {
  const ann = await account("ann");
  const bob = await account("bob");
  const eve = await account("eve");
  const room = await rest("POST", "/api/rooms", { userIds: [bob.id], name: `v2 ${runId}` }, ann.token);
  log(`ok   accounts and a room ${room._id}`);

  for (const transports of [["polling"], ["websocket"]]) {
    const label = transports[0];
    const socket = connect(transports, { token: bob.token });
    await within(STEP_MS, `${label}: connect`, (ok, ko) => {
      socket.on("connect", ok);
      socket.on("error", (e) => ko(new Error(`${label}: refused: ${JSON.stringify(e)}`)));
      socket.on("connect_error", (e) => ko(new Error(`${label}: connect_error ${e && e.message}`)));
    });
    if (socket.io.engine.transport.name !== label) throw new Error(`${label}: on ${socket.io.engine.transport.name}`);
    log(`ok   ${label}: connected with ?token=`);

    socket.emit("identity", "someone-else"); // bound to the token's user, never trusted
    const subscribed = await within(STEP_MS, `${label}: subscribe ack`, (ok) => socket.emit("subscribe", room._id, ok));
    if (!subscribed || subscribed.success !== true) throw new Error(`${label}: subscribe refused: ${JSON.stringify(subscribed)}`);
    log(`ok   ${label}: subscribed`);

    const text = `hello over ${label} ${runId}`;
    const arrived = within(STEP_MS, `${label}: new message`, (ok) =>
      socket.on("new message", (event) => JSON.stringify(event).includes(text) && ok(event)),
    );
    await rest("POST", `/api/rooms/${room._id}/messages`, { text }, ann.token);
    const event = await arrived;
    log(`ok   ${label}: new message ${JSON.stringify(event).slice(0, 160)}`);
    socket.close();
  }

  // A room the caller does not belong to: the subscribe is refused.
  const outsider = connect(["websocket"], { token: eve.token });
  await within(STEP_MS, "outsider connect", (ok) => outsider.on("connect", ok));
  const refused = await within(STEP_MS, "outsider subscribe ack", (ok) => outsider.emit("subscribe", room._id, ok));
  if (!refused || refused.success === true) throw new Error(`outsider subscribed: ${JSON.stringify(refused)}`);
  outsider.close();
  log(`ok   a non-member's subscribe is refused: ${JSON.stringify(refused)}`);

  // No token: the namespace connection is refused (2.x reports it as an `error` event).
  const anonymous = connect(["polling"], {});
  const why = await within(STEP_MS, "anonymous refusal", (ok) => {
    anonymous.on("error", ok);
    anonymous.on("connect", () => ok("connected"));
  });
  anonymous.close();
  if (why === "connected") throw new Error("a handshake without a token was accepted");
  log(`ok   no token refused: ${JSON.stringify(why)}`);
}

main().then(
  () => {
    log("socket.io 2.x e2e passed");
    process.exit(0);
  },
  (e) => {
    console.error(`FAILED: ${e.message}`);
    process.exit(1);
  },
);
