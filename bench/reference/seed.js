// Bulk seed for benchmarks:
//   node seed.js --users N --pair-messages M [--rooms R] [--room-messages K] [--tokens-out FILE]
//                [--password P] [--prefix user] [--truncate]
// Inserts N users (emails <prefix>1@example.com … <prefix>N@example.com, all with the same
// password, hashed once with bcryptjs at 10 rounds) and M messages between user 1 and user 2
// (alternating direction, 1 ms apart, ending just before now), using multi-row INSERTs in a
// single transaction. `--rooms R` gives user 1 R more conversations (K messages each with
// users 3…R+2): the tutorial has no rooms table, so its "rooms" are conversations.
// `--tokens-out FILE` writes one `{"id","email","token"}` line per user, in order (needs
// JWT_SECRET): the same file natter's `natter seed --tokens-out` writes, for natter-bench.
// Prints a JSON summary (ids of users 1 and 2; their access tokens when JWT_SECRET is set).
import bcrypt from "bcryptjs";
import jwt from "jsonwebtoken";
import { pool, initSchema } from "./src/lib/db.js";
import { JWT_EXPIRES_IN } from "./src/lib/utils.js";

const args = {
  users: 2,
  "pair-messages": 0,
  rooms: 0,
  "room-messages": 2,
  "tokens-out": "",
  password: "password123",
  prefix: "user",
  truncate: false,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`);
  let [key, value] = arg.slice(2).split("=", 2);
  if (!(key in args)) throw new Error(`unknown option --${key}`);
  if (typeof args[key] === "boolean") {
    args[key] = true;
    continue;
  }
  if (value === undefined) value = argv[++i];
  if (value === undefined) throw new Error(`--${key} needs a value`);
  args[key] = typeof args[key] === "number" ? Number(value) : value;
}
const N = args.users;
const M = args["pair-messages"];
if (!Number.isInteger(N) || N < 0) throw new Error("--users must be a non-negative integer");
if (!Number.isInteger(M) || M < 0) throw new Error("--pair-messages must be a non-negative integer");
if (M > 0 && N < 2) throw new Error("--pair-messages needs at least 2 users");
const R = args.rooms;
const K = args["room-messages"];
if (R > 0 && N < R + 2) throw new Error("--rooms R needs at least R + 2 users");
if (args["tokens-out"] && !process.env.JWT_SECRET) throw new Error("--tokens-out needs JWT_SECRET");

const USER_BATCH = 2000; // 3 params per row
const MESSAGE_BATCH = 5000; // 4 params per row

const started = Date.now();
await initSchema();
const hash = await bcrypt.hash(args.password, 10);

const client = await pool.connect();
const seeded = [];
try {
  await client.query("BEGIN");
  if (args.truncate) await client.query("TRUNCATE messages, users");

  // users first (oldest), messages after them, all in the past
  const t0 = Date.now() - (N + M + 1000);

  for (let start = 1; start <= N; start += USER_BATCH) {
    const end = Math.min(N, start + USER_BATCH - 1);
    const values = [];
    const params = [hash];
    for (let i = start; i <= end; i++) {
      const p = params.length;
      values.push(`($${p + 1}, $${p + 2}, $1, $${p + 3}, $${p + 3})`);
      params.push(`User ${i}`, `${args.prefix}${i}@example.com`.toLowerCase(), new Date(t0 + i));
    }
    const { rows } = await client.query(
      `INSERT INTO users (full_name, email, password, created_at, updated_at)
       VALUES ${values.join(", ")} RETURNING id, email`,
      params
    );
    seeded.push(...rows);
  }

  if (M > 0) {
    const [u1, u2] = seeded.map((u) => u.id);
    const m0 = t0 + N + 500;
    for (let start = 1; start <= M; start += MESSAGE_BATCH) {
      const end = Math.min(M, start + MESSAGE_BATCH - 1);
      const values = [];
      const params = [u1, u2];
      for (let j = start; j <= end; j++) {
        const p = params.length;
        values.push(
          j % 2 === 1
            ? `($1::uuid, $2::uuid, $${p + 1}, $${p + 2}, $${p + 2})`
            : `($2::uuid, $1::uuid, $${p + 1}, $${p + 2}, $${p + 2})`
        );
        params.push(`Message ${j}`, new Date(m0 + j));
      }
      await client.query(
        `INSERT INTO messages (sender_id, receiver_id, text, created_at, updated_at)
         VALUES ${values.join(", ")}`,
        params
      );
    }
  }

  if (R > 0) {
    // User 1's other conversations, newer than the long one.
    const r0 = t0 + N + M + 600;
    const values = [];
    const params = [seeded[0].id];
    for (let r = 0; r < R; r++) {
      for (let k = 0; k < K; k++) {
        const p = params.length;
        values.push(`($1::uuid, $${p + 1}::uuid, $${p + 2}, $${p + 3}, $${p + 3})`);
        params.push(seeded[2 + r].id, `Room ${r} message ${k}`, new Date(r0 + r * K + k));
      }
    }
    for (let i = 0; i < values.length; i += MESSAGE_BATCH) {
      const chunk = values.slice(i, i + MESSAGE_BATCH);
      // Re-number the placeholders of this chunk.
      const chunkParams = [params[0]];
      const rows = chunk.map((_, j) => {
        const src = 1 + (i + j) * 3;
        const p = chunkParams.length;
        chunkParams.push(params[src], params[src + 1], params[src + 2]);
        return `($1::uuid, $${p + 1}::uuid, $${p + 2}, $${p + 3}, $${p + 3})`;
      });
      await client.query(
        `INSERT INTO messages (sender_id, receiver_id, text, created_at, updated_at) VALUES ${rows.join(", ")}`,
        chunkParams
      );
    }
  }

  await client.query("COMMIT");
  await client.query("ANALYZE users; ANALYZE messages");
} catch (error) {
  await client.query("ROLLBACK").catch(() => {});
  throw error;
} finally {
  client.release();
  await pool.end();
}

const summary = {
  users: N,
  pairMessages: M,
  password: args.password,
  user1: seeded[0] ? { _id: seeded[0].id, email: seeded[0].email } : null,
  user2: seeded[1] ? { _id: seeded[1].id, email: seeded[1].email } : null,
  elapsedMs: Date.now() - started,
};
if (process.env.JWT_SECRET) {
  for (const u of [summary.user1, summary.user2]) {
    if (u) u.accessToken = jwt.sign({ userId: u._id, sub: u._id }, process.env.JWT_SECRET, { expiresIn: JWT_EXPIRES_IN });
  }
}
if (args["tokens-out"]) {
  const { writeFileSync } = await import("node:fs");
  const lines = seeded.map((u) => {
    const token = jwt.sign({ userId: u.id, sub: u.id }, process.env.JWT_SECRET, { expiresIn: JWT_EXPIRES_IN });
    return JSON.stringify({ id: u.id, email: u.email, token });
  });
  writeFileSync(args["tokens-out"], lines.join("\n") + "\n");
}
console.log(JSON.stringify(summary, null, 2));
