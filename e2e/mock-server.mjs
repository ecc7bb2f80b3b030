// A tiny in-memory stand-in for the tutorial's Express backend (the same
// routes and JSON shapes natter reproduces), serving frontend/dist with an
// index.html fallback. It exists only to check the frontend and browser.mjs
// independently of natter:   node mock-server.mjs [port]   then
//                            node browser.mjs http://127.0.0.1:<port>
// It has no Socket.IO endpoint (the app must cope with that).
import http from "node:http";
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("./frontend/dist/", import.meta.url));
const port = Number(process.argv[2] || 5055);
const users = new Map(); // id -> user (with password)
const sessions = new Map(); // token -> user id
const messages = [];
const uploads = new Map();
const id = () => Date.now().toString(16) + randomBytes(8).toString("hex");
const now = () => new Date().toISOString();
const pub = ({ password, ...u }) => u;
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
const fail = (res, status, message) => send(res, status, { success: false, statusCode: status, message });
function cookieFor(token) {
  return `jwt=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=900`;
}
function storeDataUrl(v) {
  if (typeof v !== "string" || !v.startsWith("data:")) return v || "";
  const m = /^data:([^;]+);base64,(.*)$/.exec(v);
  const key = id();
  uploads.set(key, { type: m[1], bytes: Buffer.from(m[2], "base64") });
  return `/uploads/${key}`;
}

http
  .createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const p = url.pathname;
    let body = "";
    for await (const chunk of req) body += chunk;
    let json = {};
    try { json = body ? JSON.parse(body) : {}; } catch { return fail(res, 400, "Malformed JSON"); }
    const token = /(?:^|; )jwt=([^;]+)/.exec(req.headers.cookie || "")?.[1];
    const me = users.get(sessions.get(token));
    const m = req.method;

    if (p.startsWith("/api/")) {
      if (m === "POST" && p === "/api/auth/signup") {
        const { fullName, email, password } = json;
        if (!fullName || !email || !password) return fail(res, 400, "All fields are required");
        if ([...users.values()].some((u) => u.email === email.toLowerCase())) return fail(res, 400, "Email already exists");
        const u = { _id: id(), fullName, email: email.toLowerCase(), password, profilePic: "", createdAt: now(), updatedAt: now() };
        users.set(u._id, u);
        const t = id(); sessions.set(t, u._id);
        return send(res, 201, pub(u), { "set-cookie": cookieFor(t) });
      }
      if (m === "POST" && p === "/api/auth/login") {
        const u = [...users.values()].find((x) => x.email === String(json.email).toLowerCase());
        if (!u || u.password !== json.password) return fail(res, 400, "Invalid credentials");
        const t = id(); sessions.set(t, u._id);
        return send(res, 200, pub(u), { "set-cookie": cookieFor(t) });
      }
      if (m === "POST" && p === "/api/auth/logout") {
        sessions.delete(token);
        return send(res, 200, { message: "Logged out successfully" }, { "set-cookie": "jwt=; Path=/; Max-Age=0" });
      }
      if (!me) return fail(res, 401, "Unauthorized - No Token Provided");
      if (m === "GET" && p === "/api/auth/check") return send(res, 200, pub(me));
      if (m === "PUT" && p === "/api/auth/update-profile") {
        if (!json.profilePic) return fail(res, 400, "Profile pic is required");
        me.profilePic = storeDataUrl(json.profilePic); me.updatedAt = now();
        return send(res, 200, pub(me));
      }
      if (m === "GET" && p === "/api/messages/users") return send(res, 200, [...users.values()].filter((u) => u._id !== me._id).map(pub));
      let mm;
      if (m === "POST" && (mm = /^\/api\/messages\/send\/([^/]+)$/.exec(p))) {
        if (!users.has(mm[1]) || mm[1] === me._id) return fail(res, 404, "User not found");
        if (!json.text && !json.image) return fail(res, 400, "Message is empty");
        const msg = { _id: id(), senderId: me._id, receiverId: mm[1], text: json.text || "", createdAt: now(), updatedAt: now() };
        if (json.image) msg.image = storeDataUrl(json.image);
        messages.push(msg);
        return send(res, 201, msg);
      }
      if (m === "GET" && (mm = /^\/api\/messages\/([^/]+)$/.exec(p))) {
        const o = mm[1];
        return send(res, 200, messages.filter((x) => (x.senderId === me._id && x.receiverId === o) || (x.senderId === o && x.receiverId === me._id)));
      }
      return fail(res, 404, "Not found");
    }
    if (p.startsWith("/uploads/")) {
      const f = uploads.get(p.slice(9));
      if (!f) return fail(res, 404, "Not found");
      res.writeHead(200, { "content-type": f.type, "x-content-type-options": "nosniff" });
      return res.end(f.bytes);
    }
    if (p.startsWith("/socket.io/")) return fail(res, 404, "Not found");
    let file = join(DIST, normalize(p).replace(/^(\.\.[/\\])+/, ""));
    try { if (!(await stat(file)).isFile()) throw 0; } catch { file = join(DIST, "index.html"); }
    res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" });
    res.end(await readFile(file));
  })
  .listen(port, "127.0.0.1", () => console.log(`mock server on http://127.0.0.1:${port}`));
