// The native JSON API, same origin, authenticated by natter's httpOnly `jwt` /
// `refreshToken` cookies (the server refreshes them transparently).

/** An API failure: `status` (0 when the request never got an answer) and the server's message. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function request(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, navigator.onLine ? "Cannot reach the server" : "You are offline");
  }
  let data = null;
  const text = await response.text().catch(() => "");
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    let message = (data && typeof data.message === "string" && data.message) || `Request failed (${response.status})`;
    if (data && data.errors && typeof data.errors === "object") {
      const details = Object.values(data.errors).filter((v) => typeof v === "string");
      if (details.length && !details.includes(message)) message += `: ${details.join("; ")}`;
    }
    throw new ApiError(response.status, message, data);
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  signup: (fullName, email, password) => request("POST", "/api/auth/signup", { fullName, email, password }),
  login: (identifier, password) => request("POST", "/api/auth/login", { identifier, password }),
  logout: () => request("POST", "/api/auth/logout"),
  check: () => request("GET", "/api/auth/check"),
  users: () => request("GET", "/api/messages/users"),
  rooms: () => request("GET", "/api/rooms?limit=200"),
  room: (roomId) => request("GET", `/api/rooms/${enc(roomId)}`),
  createRoom: (userIds, name) => request("POST", "/api/rooms", name ? { userIds, name } : { userIds }),
  addMembers: (roomId, userIds) => request("POST", `/api/rooms/${enc(roomId)}/members`, { userIds }),
  messages: (roomId, { after, before, limit } = {}) => {
    const q = new URLSearchParams();
    if (after) q.set("after", after);
    if (before) q.set("before", before);
    if (limit) q.set("limit", String(limit));
    const qs = q.toString();
    return request("GET", `/api/rooms/${enc(roomId)}/messages${qs ? `?${qs}` : ""}`);
  },
  send: (roomId, text, image) => {
    const body = {};
    if (text) body.text = text;
    if (image) body.image = image;
    return request("POST", `/api/rooms/${enc(roomId)}/messages`, body);
  },
  edit: (messageId, text) => request("PATCH", `/api/messages/${enc(messageId)}`, { text }),
  remove: (messageId) => request("DELETE", `/api/messages/${enc(messageId)}`),
  markRead: (roomId) => request("PUT", `/api/rooms/${enc(roomId)}/read`),
};
