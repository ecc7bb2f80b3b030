// End-to-end smoke test of a running reference server:
//   BASE_URL=http://127.0.0.1:5001 node test/smoke.js
// Signs up two users, connects them over Socket.IO (one with `auth: {token}`, one the
// tutorial way with `query: {userId}`), checks `getOnlineUsers`, sends a DM over HTTP and
// checks the receiver's `newMessage`, then reads it back with and without `before`.
import { io } from "socket.io-client";

const BASE = process.env.BASE_URL || "http://127.0.0.1:5001";
const stamp = Date.now();
const fail = (msg) => {
  console.error("FAIL:", msg);
  process.exit(1);
};
const check = (cond, msg) => {
  if (!cond) fail(msg);
  console.log("ok -", msg);
};

const api = async (method, path, { token, body } = {}) => {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(BASE + path, { method, headers, body: body && JSON.stringify(body) });
  return { status: res.status, body: await res.json(), headers: res.headers };
};

const waitFor = (socket, event, pred, ms = 5000) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    const handler = (payload) => {
      if (pred(payload)) {
        clearTimeout(timer);
        socket.off(event, handler);
        resolve(payload);
      }
    };
    socket.on(event, handler);
  });

const users = [];
for (const name of ["alice", "bob"]) {
  const email = `${name}.${stamp}@example.com`;
  const signup = await api("POST", "/api/auth/signup", {
    body: { fullName: name, email, password: "secret123" },
  });
  check(signup.status === 201 && signup.body._id && !("password" in signup.body), `signup ${name} -> 201`);
  check(/jwt=/.test(signup.headers.get("set-cookie") || ""), `signup ${name} sets the jwt cookie`);
  const login = await api("POST", "/api/auth/login", { body: { email, password: "secret123" } });
  check(login.status === 200 && typeof login.body.accessToken === "string", `login ${name} -> 200 + accessToken`);
  users.push({ ...login.body, token: login.body.accessToken });
}
const [alice, bob] = users;

const bobSocket = io(BASE, { auth: { token: bob.token }, transports: ["websocket"] });
const bobOnline = waitFor(bobSocket, "getOnlineUsers", (ids) => ids.includes(bob._id));
await bobOnline;
check(true, "bob (auth.token) receives getOnlineUsers with himself");

const aliceSeenByBob = waitFor(bobSocket, "getOnlineUsers", (ids) => ids.includes(alice._id));
const aliceSocket = io(BASE, { query: { userId: alice._id }, transports: ["websocket"] });
await aliceSeenByBob;
check(true, "alice (query.userId) connecting is broadcast to bob via getOnlineUsers");

const arrived = waitFor(bobSocket, "newMessage", (m) => m.text === "hello bob");
const sent = await api("POST", `/api/messages/send/${bob._id}`, { token: alice.token, body: { text: "hello bob" } });
check(sent.status === 201 && sent.body.senderId === alice._id && sent.body.receiverId === bob._id, "send -> 201 Message");
const got = await arrived;
check(got._id === sent.body._id, "bob receives newMessage with the same _id");

for (let i = 1; i <= 5; i++) {
  await api("POST", `/api/messages/send/${alice._id}`, { token: bob.token, body: { text: `reply ${i}` } });
}
const all = await api("GET", `/api/messages/${bob._id}`, { token: alice.token });
check(all.status === 200 && all.body.length === 6 && all.body[0].text === "hello bob", "conversation, oldest first");
const page = await api("GET", `/api/messages/${bob._id}?limit=2&before=${all.body[5]._id}`, { token: alice.token });
check(
  page.status === 200 && page.body.map((m) => m.text).join() === "reply 3,reply 4",
  "?limit=2&before=<last> returns the 2 before it, oldest first"
);

const rooms = await api("GET", "/api/rooms", { token: alice.token });
check(rooms.status === 200 && rooms.body[0].lastMessage.text === "reply 5", "rooms lists the conversation with its last message");

const offline = waitFor(bobSocket, "getOnlineUsers", (ids) => !ids.includes(alice._id));
aliceSocket.disconnect();
await offline;
check(true, "alice disconnecting is broadcast to bob via getOnlineUsers");
bobSocket.disconnect();
console.log("all checks passed");
process.exit(0);
