// Server memory per idle Socket.IO connection, measured with the official client
// (socket.io-client, as a browser connects: long-polling first, then the websocket upgrade)
// instead of natter-bench's websocket-only client.
//
//   node socket-memory.mjs URL SERVER_PID CONNECTIONS USERS TOKENS_FILE [polling|websocket]
//
// TOKENS_FILE is what `natter seed --tokens-out` (or seed.js) writes: one JSON line per user
// with `id` and `token`. Connections are spread round robin over the first USERS users.
// Prints one JSON line: RSS before and after (KiB, from /proc) and KiB per connection.
import fs from "node:fs";
import { io } from "socket.io-client";

const [url, pid, connections, users, tokensFile, mode = "polling"] = process.argv.slice(2);
if (!tokensFile) {
  console.error("usage: node socket-memory.mjs URL SERVER_PID CONNECTIONS USERS TOKENS_FILE [polling|websocket]");
  process.exit(2);
}
const seeded = fs.readFileSync(tokensFile, "utf8").trim().split("\n").map((line) => JSON.parse(line));
const rssKib = () => Number(fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const total = Number(connections);
const distinct = Math.min(Number(users), seeded.length);

await sleep(1000);
const before = rssKib();
const sockets = [];
let connected = 0;
let failed = 0;

// Resolves once the connection is up on its final transport.
function connect(i) {
  const { id, token } = seeded[i % distinct];
  return new Promise((resolve) => {
    const socket = io(url, {
      auth: { token },
      extraHeaders: { cookie: `jwt=${token}` },
      query: { userId: id },
      transports: mode === "websocket" ? ["websocket"] : ["polling", "websocket"],
      forceNew: true,
      reconnection: false,
    });
    sockets.push(socket);
    socket.on("connect", () => {
      connected++;
      const engine = socket.io.engine;
      if (mode === "websocket" || engine.transport.name === "websocket") resolve();
      else engine.once("upgrade", () => resolve());
    });
    socket.on("connect_error", (e) => {
      failed++;
      if (failed === 1) console.error(`connect_error: ${e.message}`);
      resolve();
    });
  });
}

const batch = 100;
for (let start = 0; start < total; start += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, total - start) }, (_, j) => connect(start + j)));
}
await sleep(3000);
const after = rssKib();
console.log(
  JSON.stringify({ mode, connections: connected, failed, users: distinct, idle_rss_kib: before, loaded_rss_kib: after,
    kib_per_connection: (after - before) / Math.max(connected, 1) }),
);
process.exit(failed ? 1 : 0);
