#!/usr/bin/env node
// Socket.IO end-to-end test: the official socket.io-client (node build, default options:
// HTTP long-polling first, then the upgrade to websocket) against a running natter, with
// plain fetch for the REST calls.
//
//   node e2e/socketio.mjs http://127.0.0.1:3000
//
// Env: E2E_TIMEOUT_MS (overall limit, default 60000), E2E_STEP_MS (one wait, default 8000).
// Exit codes: 0 passed, 1 a step failed, 2 bad usage, 3 overall timeout.
//
// Users (unique e-mails per run): ann authenticates with the `jwt` cookie from signup
// (REST and socket), bob and cat with the login `accessToken` (Bearer / `auth: {token}`),
// cat's socket is forced to `transports: ["polling"]`, eve is an outsider.
import { io } from "socket.io-client";
import { isDeepStrictEqual } from "node:util";

const started = Date.now();
const base = (process.argv[2] || "").replace(/\/+$/, "");
if (!/^https?:\/\/[^/]+$/.test(base)) {
  console.error("usage: node socketio.mjs <server base URL, e.g. http://127.0.0.1:3000>");
  process.exit(2);
}
const OVERALL_MS = Number(process.env.E2E_TIMEOUT_MS || 60_000);
const STEP_MS = Number(process.env.E2E_STEP_MS || 8_000);
// How long to listen before concluding that an event did not arrive.
const QUIET_MS = 600;

const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const PASSWORD = `Pw-${runId}-e2e!`;

let currentStep = "start";
const httpLog = []; // every REST exchange, for the failure report
const taps = []; // every socket's recorded events, for the failure report

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const log = (msg) => console.log(`[${elapsed()}] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const show = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 400 ? `${s.slice(0, 400)}…` : s;
};

class StepError extends Error {}
const fail = (msg) => {
  throw new StepError(msg);
};
const check = (cond, msg) => {
  if (!cond) fail(typeof msg === "function" ? msg() : msg);
};
const checkEqual = (actual, expected, what) =>
  check(isDeepStrictEqual(actual, expected), () => `${what}:\n    got  ${show(actual)}\n    want ${show(expected)}`);

async function step(name, fn) {
  currentStep = name;
  const t0 = Date.now();
  await fn();
  log(`ok   ${name} (${Date.now() - t0} ms)`);
}

// ---------------------------------------------------------------------- REST

// `as` is a user: REST goes with its `jwt` cookie when its style is "cookie", else with
// `Authorization: Bearer <accessToken>`.
async function api(method, path, { as, body, expect } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (as?.style === "cookie") headers.cookie = `jwt=${as.cookie}`;
  else if (as?.token) headers.authorization = `Bearer ${as.token}`;
  const line = `${as ? `${as.name}: ` : ""}${method} ${path}`;
  let res;
  try {
    res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    httpLog.push(`${line} -> request failed: ${e.cause?.message || e.message}`);
    fail(`${line}: request failed: ${e.cause?.message || e.message}`);
  }
  const text = await res.text();
  httpLog.push(`${line} -> ${res.status} ${text.slice(0, 200)}`);
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    fail(`${line} returned ${res.status} with a non-JSON body: ${text.slice(0, 300)}`);
  }
  if (expect !== undefined && res.status !== expect)
    fail(`${line} returned ${res.status} (expected ${expect}): ${text.slice(0, 500)}`);
  return { status: res.status, json, res };
}

async function signup(name) {
  const user = {
    name,
    fullName: `${name[0].toUpperCase()}${name.slice(1)} ${runId}`,
    email: `${name}.${runId}@example.com`,
    password: PASSWORD,
  };
  const { json, res } = await api("POST", "/api/auth/signup", {
    body: { fullName: user.fullName, email: user.email, password: user.password },
    expect: 201,
  });
  check(typeof json._id === "string" && json._id, `signup of ${name} returned no _id: ${show(json)}`);
  user.id = json._id;
  const jwt = res.headers.getSetCookie().find((c) => c.startsWith("jwt="));
  check(jwt, `signup of ${name} set no jwt cookie: ${show(res.headers.getSetCookie())}`);
  user.cookie = jwt.slice(4).split(";")[0];
  check(user.cookie, `signup of ${name} set an empty jwt cookie`);
  user.style = "cookie";
  return user;
}

async function login(user) {
  const { json } = await api("POST", "/api/auth/login", {
    body: { email: user.email, password: user.password },
    expect: 200,
  });
  check(typeof json.accessToken === "string" && json.accessToken, `login of ${user.name} returned no accessToken`);
  check(json._id === user.id, `login of ${user.name} returned _id ${json._id}, expected ${user.id}`);
  user.token = json.accessToken;
  user.style = "token";
  return user;
}

const roomPost = (as, roomId, text) =>
  api("POST", `/api/rooms/${roomId}/messages`, { as, body: { text }, expect: 201 }).then((r) => r.json);

// ------------------------------------------------------------------- sockets

// Records everything a socket receives (and its connect / disconnect / transport changes)
// so that steps can wait for an event, or check that one did not come.
class Tap {
  constructor(label, socket) {
    this.label = label;
    this.socket = socket;
    this.events = [];
    this.waiters = new Set();
    socket.onAny((event, ...args) => this.push(event, args[0]));
    socket.on("connect", () => this.push("$connect", socket.id));
    socket.on("disconnect", (reason) => this.push("$disconnect", reason));
    socket.on("connect_error", (err) => this.push("$connect_error", { message: err.message, data: err.data }));
    // Each (re)connection opens a new engine: note its first transport and its upgrade.
    socket.io.on("open", () => {
      const engine = socket.io.engine;
      this.push("$open", engine.transport.name);
      engine.on("upgrade", (transport) => this.push("$upgrade", transport.name));
    });
    taps.push(this);
  }

  push(event, data) {
    const e = { event, data, seq: this.events.length, at: elapsed() };
    this.events.push(e);
    for (const w of this.waiters) w(e);
  }

  mark() {
    return this.events.length;
  }

  find(event, pred, since) {
    return this.events.slice(since).filter((e) => e.event === event && pred(e.data));
  }

  // The first `event` at or after `since` for which `pred(data)` holds; waits for it.
  wait(event, what, { pred = () => true, since = 0, timeout = STEP_MS } = {}) {
    const found = this.find(event, pred, since)[0];
    if (found) return Promise.resolve(found.data);
    return new Promise((resolve, reject) => {
      const waiter = (e) => {
        if (e.event !== event || !pred(e.data)) return;
        cleanup();
        resolve(e.data);
      };
      const timer = setTimeout(() => {
        cleanup();
        const seen = this.find(event, () => true, since).map((e) => show(e.data));
        reject(
          new StepError(
            `${this.label} did not receive "${event}" ${what} within ${timeout} ms` +
              (seen.length ? `; it received these "${event}" instead:\n    ${seen.slice(-5).join("\n    ")}` : ""),
          ),
        );
      }, timeout);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  // Listens for QUIET_MS, then fails if `event` (matching `pred`) arrived since `since`.
  async none(event, what, { pred = () => true, since = 0 } = {}) {
    await sleep(QUIET_MS);
    const got = this.find(event, pred, since);
    check(!got.length, () => `${this.label} received "${event}" ${what}: ${show(got[0].data)}`);
  }
}

// A socket with the client's default options (polling first, then upgrade) unless `opts`
// says otherwise. The user's style picks the handshake credential: the `jwt` cookie (sent
// as a Cookie header, as a browser would) or `auth: {token}`.
function connect(label, user, opts = {}) {
  const options = { forceNew: true, ...opts };
  if (user?.style === "cookie") options.extraHeaders = { cookie: `jwt=${user.cookie}` };
  else if (user?.token) options.auth = { token: user.token };
  const socket = io(base, options);
  return new Tap(label, socket);
}

const transportOf = (tap) => tap.socket.io.engine?.transport?.name;

// Waits for the socket's "connect" at or after `since`; reports a connect_error instead.
async function connected(tap, since = 0) {
  try {
    return await tap.wait("$connect", "(the connection)", { since });
  } catch (e) {
    const err = tap.find("$connect_error", () => true, since).at(-1);
    if (err) fail(`${tap.label} could not connect: connect_error ${show(err.data)}`);
    throw e;
  }
}

// ---------------------------------------------------------------- the story

const sameIds = (list, ids) =>
  Array.isArray(list) && ids.every((id) => list.includes(id)) && list.every((x) => typeof x === "string");

async function main() {
  log(`socket.io e2e against ${base} (run ${runId})`);
  let ann, bob, cat, eve;
  let A, B, C, E, spy;
  let room;

  await step("sign up ann (cookie), bob and cat (access token), eve (outsider)", async () => {
    ann = await signup("ann");
    bob = await login(await signup("bob"));
    cat = await login(await signup("cat"));
    eve = await login(await signup("eve"));
  });

  await step("1. presence: getOnlineUsers on connect and on every change", async () => {
    A = connect("ann's socket (jwt cookie)", ann);
    await connected(A);
    const annFirst = await A.wait("getOnlineUsers", "on connect");
    check(sameIds(annFirst, [ann.id]), `ann's first getOnlineUsers lacks ann ${ann.id}: ${show(annFirst)}`);

    const beforeBob = A.mark();
    B = connect("bob's socket (auth.token)", bob);
    await connected(B);
    const bobFirst = await B.wait("getOnlineUsers", "on connect");
    check(
      sameIds(bobFirst, [ann.id, bob.id]),
      `bob's first getOnlineUsers should list ann ${ann.id} and bob ${bob.id}: ${show(bobFirst)}`,
    );
    await A.wait("getOnlineUsers", "listing bob after bob connected", {
      pred: (l) => sameIds(l, [ann.id, bob.id]),
      since: beforeBob,
    });

    const beforeLeave = A.mark();
    B.socket.disconnect();
    await A.wait("getOnlineUsers", `without bob ${bob.id} after bob disconnected`, {
      pred: (l) => sameIds(l, [ann.id]) && !l.includes(bob.id),
      since: beforeLeave,
    });

    const [beforeBack, bobBack] = [A.mark(), B.mark()];
    B.socket.connect();
    await connected(B, bobBack);
    await A.wait("getOnlineUsers", "listing bob again after bob reconnected", {
      pred: (l) => sameIds(l, [ann.id, bob.id]),
      since: beforeBack,
    });
  });

  await step("9a. default client options: polling first, then upgraded to websocket", async () => {
    for (const tap of [A, B]) {
      const first = tap.find("$open", () => true, 0);
      check(first.length, `${tap.label}: the engine never opened`);
      check(first[0].data === "polling", `${tap.label} opened on "${first[0].data}", expected "polling"`);
      await tap.wait("$upgrade", "(engine upgrade)", { since: first.at(-1).seq });
      check(
        transportOf(tap) === "websocket",
        `${tap.label}: after the upgrade event the transport is "${transportOf(tap)}", expected "websocket"`,
      );
    }
  });

  await step("2. a DM sent over REST arrives live as newMessage, equal to the REST body", async () => {
    const [a0, b0] = [A.mark(), B.mark()];
    const text = `hi bob, ann here ${runId}`;
    const { json: sent } = await api("POST", `/api/messages/send/${bob.id}`, { as: ann, body: { text }, expect: 201 });
    check(sent.text === text && sent.senderId === ann.id, `the REST body is not ann's message: ${show(sent)}`);
    const got = await B.wait("newMessage", `for the DM ${sent._id}`, { since: b0, pred: (m) => m?._id === sent._id });
    checkEqual(got, sent, "bob's newMessage vs. the POST /api/messages/send response");
    const echo = await A.wait("newMessage", `(the sender's own socket) for ${sent._id}`, {
      since: a0,
      pred: (m) => m?._id === sent._id,
    });
    checkEqual(echo, sent, "ann's newMessage (her socket did not send it) vs. the REST response");
  });

  await step("connect cat (auth.token, transports: [\"polling\"]) and eve (cookie, outsider)", async () => {
    C = connect("cat's socket (polling only)", cat, { transports: ["polling"] });
    E = connect("eve's socket (jwt cookie, outsider)", { ...eve, style: "cookie" });
    await connected(C);
    await connected(E);
    check(transportOf(C) === "polling", `cat's transport is "${transportOf(C)}", expected "polling"`);
  });

  await step("3. a group room of 3: a REST post arrives as newMessage at every member", async () => {
    const { json } = await api("POST", "/api/rooms", {
      as: ann,
      body: { userIds: [bob.id, cat.id], name: `team ${runId}` },
      expect: 201,
    });
    room = json;
    check(typeof room._id === "string", `POST /api/rooms returned no _id: ${show(room)}`);
    const members = (room.members || []).map((m) => m?._id).sort();
    checkEqual(members, [ann.id, bob.id, cat.id].sort(), "the new room's members");
    const marks = [A, B, C, E].map((t) => t.mark());
    const posted = await roomPost(cat, room._id, `hello team from cat ${runId}`);
    check(posted.roomId === room._id, `the posted message has roomId ${posted.roomId}, expected ${room._id}`);
    for (const [i, tap] of [A, B, C].entries()) {
      const got = await tap.wait("newMessage", `for the room post ${posted._id}`, {
        since: marks[i],
        pred: (m) => m?._id === posted._id,
      });
      checkEqual(got, posted, `${tap.label}: newMessage vs. the POST /api/rooms/:roomId/messages response`);
    }
    await E.none("newMessage", "for a room eve is not in", { since: marks[3] });
  });

  await step("4. typing reaches the other members only; PUT read produces messagesRead", async () => {
    const marks = [A, B, C, E].map((t) => t.mark());
    B.socket.emit("typing", { roomId: room._id });
    const expected = { roomId: room._id, userId: bob.id };
    for (const [tap, since] of [
      [A, marks[0]],
      [C, marks[2]],
    ]) {
      const got = await tap.wait("typing", "from bob", { since });
      checkEqual(got, expected, `${tap.label}: typing`);
    }
    await B.none("typing", "(its own typing echoed back to the typist)", { since: marks[1] });
    await E.none("typing", "for a room eve is not in", { since: marks[3] });

    const before = [A, B, C].map((t) => t.mark());
    const { json: read } = await api("PUT", `/api/rooms/${room._id}/read`, { as: cat, expect: 200 });
    check(
      read.roomId === room._id && read.userId === cat.id && typeof read.readAt === "string",
      `PUT /api/rooms/:roomId/read returned ${show(read)}`,
    );
    const want = { roomId: room._id, userId: cat.id, readAt: read.readAt };
    for (const [i, tap] of [A, B, C].entries()) {
      const got = await tap.wait("messagesRead", "after cat marked the room read", { since: before[i] });
      checkEqual(got, want, `${tap.label}: messagesRead`);
    }
  });

  await step("9b. the polling-only client got its events and never upgraded", async () => {
    check(C.find("newMessage", () => true, 0).length > 0, "cat's polling socket received no newMessage");
    check(!C.find("$upgrade", () => true, 0).length, "cat's socket upgraded although transports: [\"polling\"]");
    check(transportOf(C) === "polling", `cat's transport is "${transportOf(C)}"`);
  });

  await step("5. subscribe: a non-member's ack is a 404, a member gets `new message` posts", async () => {
    let refused;
    try {
      refused = await E.socket.timeout(STEP_MS).emitWithAck("subscribe", room._id);
    } catch (e) {
      fail(`eve's subscribe(${room._id}) got no ack within ${STEP_MS} ms (${e.message})`);
    }
    check(
      refused?.success === false && refused?.statusCode === 404,
      `eve's subscribe ack should have success: false, statusCode: 404; got ${show(refused)}`,
    );
    let ok;
    try {
      ok = await B.socket.timeout(STEP_MS).emitWithAck("subscribe", room._id);
    } catch (e) {
      fail(`bob's subscribe(${room._id}) got no ack within ${STEP_MS} ms (${e.message})`);
    }
    check(ok?.success === true, `bob's subscribe ack should have success: true; got ${show(ok)}`);

    const [b0, e0] = [B.mark(), E.mark()];
    const posted = await roomPost(ann, room._id, `a post for subscribers ${runId}`);
    const got = await B.wait("new message", `for the post ${posted._id}`, {
      since: b0,
      pred: (d) => d?.message?._id === posted._id,
    });
    check(
      got.message.chatRoomId === room._id,
      `"new message" should be {message: {chatRoomId: "${room._id}", ...}}; got ${show(got)}`,
    );
    await E.none("new message", "although her subscribe was refused", { since: e0 });
  });

  await step("6. a valid token for eve with query.userId = bob is eve, not bob", async () => {
    spy = connect("eve's socket claiming query.userId=bob", { ...eve, style: "token" }, { query: { userId: bob.id } });
    await connected(spy);
    const online = await spy.wait("getOnlineUsers", "on connect");
    check(Array.isArray(online) && online.includes(eve.id), `the spoofing socket's getOnlineUsers: ${show(online)}`);
    const [s0, b0] = [spy.mark(), B.mark()];
    const forBob = await api("POST", `/api/messages/send/${bob.id}`, {
      as: cat,
      body: { text: `for bob only ${runId}` },
      expect: 201,
    });
    await B.wait("newMessage", "(cat's DM to bob)", { since: b0, pred: (m) => m?._id === forBob.json._id });
    await spy.none("newMessage", "meant for bob", { since: s0, pred: (m) => m?._id === forBob.json._id });
    const forEve = await api("POST", `/api/messages/send/${eve.id}`, {
      as: cat,
      body: { text: `for eve ${runId}` },
      expect: 201,
    });
    const got = await spy.wait("newMessage", "(cat's DM to eve)", {
      since: s0,
      pred: (m) => m?._id === forEve.json._id,
    });
    checkEqual(got, forEve.json, "the spoofing socket's newMessage for eve");
    spy.socket.disconnect();
  });

  await step("7. no token and no cookie: connect_error says authentication is required", async () => {
    const anon = connect("an anonymous socket", null, { query: { userId: ann.id } });
    const err = await anon.wait("$connect_error", "(refusal)");
    check(
      /auth/i.test(err?.message || ""),
      `connect_error message should explain that authentication is required; got ${show(err)}`,
    );
    check(!anon.find("$connect", () => true, 0).length, "the anonymous socket connected");
    log(`     anonymous connect_error: ${show(err.message)}`);
    anon.socket.close();
  });

  await step("8. reconnect and catch up: ?after=<last seen _id> has exactly the missed messages", async () => {
    const b0 = B.mark();
    const last = await roomPost(ann, room._id, `last one before the drop ${runId}`);
    await B.wait("newMessage", `for ${last._id}`, { since: b0, pred: (m) => m?._id === last._id });
    const seen = B.find("newMessage", (m) => m?.roomId === room._id, 0).map((e) => e.data._id);
    const lastSeen = seen.at(-1);
    check(lastSeen === last._id, `bob's last room message is ${lastSeen}, expected ${last._id}`);

    // The network drops: the transport closes under the socket (no Socket.IO disconnect).
    check(transportOf(B) === "websocket", `bob's transport before the drop is "${transportOf(B)}"`);
    B.socket.io.reconnection(false);
    const dropped = B.mark();
    B.socket.io.engine.close();
    const reason = await B.wait("$disconnect", "after the transport closed", { since: dropped });
    check(!B.socket.connected, `bob's socket still connected after "${reason}"`);

    const missed = [];
    for (let i = 0; i < 3; i++) missed.push(await roomPost(i % 2 ? cat : ann, room._id, `missed ${i} ${runId}`));
    const burst = await Promise.all(
      Array.from({ length: 6 }, (_, i) => roomPost([ann, cat][i % 2], room._id, `missed burst ${i} ${runId}`)),
    );
    missed.push(...burst);

    const back = B.mark();
    B.socket.io.reconnection(true);
    B.socket.connect();
    await B.wait("$connect", "(reconnection)", { since: back });
    const { json: caught } = await api("GET", `/api/rooms/${room._id}/messages?after=${lastSeen}`, {
      as: bob,
      expect: 200,
    });
    check(Array.isArray(caught), `GET …/messages?after= returned ${show(caught)}`);
    const ids = caught.map((m) => m._id);
    check(new Set(ids).size === ids.length, () => `the catch-up has duplicates: ${show(ids)}`);
    check(!ids.includes(lastSeen), "the catch-up repeats the last seen message");
    const order = (x, y) => (x.createdAt < y.createdAt ? -1 : x.createdAt > y.createdAt ? 1 : x._id < y._id ? -1 : 1);
    const expected = [...missed].sort(order).map((m) => m._id);
    checkEqual(ids, expected, "the catch-up ids (every missed message once, ordered by (createdAt, _id))");
    const sequential = missed.slice(0, 3).map((m) => m._id);
    checkEqual(ids.filter((id) => sequential.includes(id)), sequential, "the messages posted one after another");
    for (const [i, m] of caught.entries())
      checkEqual(m, missed.find((x) => x._id === m._id), `catch-up message ${i} vs. its POST response`);
    const replayed = B.find("newMessage", (m) => ids.includes(m?._id), back);
    log(`     caught up ${ids.length} missed messages (${replayed.length} also replayed live)`);

    // Live events resume on the new connection, right after the caught-up ones.
    const live0 = B.mark();
    const live = await roomPost(cat, room._id, `live again ${runId}`);
    const got = await B.wait("newMessage", `for ${live._id} after the reconnection`, {
      since: live0,
      pred: (m) => m?._id === live._id,
    });
    checkEqual(got, live, "bob's newMessage after reconnecting");
    const { json: rest } = await api("GET", `/api/rooms/${room._id}/messages?after=${ids.at(-1)}`, {
      as: bob,
      expect: 200,
    });
    checkEqual(rest.map((m) => m._id), [live._id], "messages after the last caught-up one");
    await B.wait("$upgrade", "(upgrade of the new connection)", { since: back });
    check(transportOf(B) === "websocket", `bob's new connection is on "${transportOf(B)}"`);
  });

  // Close politely (a polling client's close goes out in a request of its own).
  for (const tap of taps) tap.socket.close();
  await sleep(300);
}

// ------------------------------------------------------------------ running

function report(err) {
  const msg = String(err?.message || err);
  console.error(`\nFAIL at step "${currentStep}" after ${elapsed()}:\n  ${msg}`);
  if (!(err instanceof StepError)) {
    const where = String(err?.stack || "").split("\n").find((l) => l.includes("socketio.mjs"));
    if (where) console.error(`  (${where.trim()})`);
  }
  console.error(`\nHTTP (last 15):\n  ${httpLog.slice(-15).join("\n  ") || "(none)"}`);
  for (const tap of taps) {
    const events = tap.events.slice(-12).map((e) => `${e.at} ${e.event} ${show(e.data).slice(0, 200)}`);
    console.error(
      `\n--- ${tap.label}: connected=${tap.socket.connected} transport=${transportOf(tap)} ` +
        `(last ${events.length} of ${tap.events.length} events)\n  ${events.join("\n  ") || "(none)"}`,
    );
  }
}

const timer = setTimeout(() => {
  report(new StepError(`overall timeout of ${OVERALL_MS} ms exceeded`));
  console.error("\nsocket.io e2e: FAILED (timeout)");
  process.exit(3);
}, OVERALL_MS);

let code = 0;
try {
  await main();
  log("socket.io e2e: all steps passed");
} catch (e) {
  code = 1;
  report(e);
  console.error("\nsocket.io e2e: FAILED");
} finally {
  clearTimeout(timer);
}
process.exit(code);
