// natter's built-in web client: plain ES modules, no build step. All user text goes into
// the DOM through textContent (never innerHTML), so nothing a user types is markup.
import { io } from "/vendor/socket.io.esm.min.js";
import { api, ApiError } from "/api.js";

const $ = (id) => document.getElementById(id);

/** Builds an element: `h("li", {class: "x", dataset: {id}}, child, "text")`. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
/** Small stroked line icons (drawn for this client), decorative: buttons carry the label. */
const ICONS = {
  edit: ["M4 20l1.2-4.8L15.5 4.9a1.5 1.5 0 0 1 2.1 0l1.5 1.5a1.5 1.5 0 0 1 0 2.1L8.8 18.8z", "M13.5 7l3.5 3.5"],
  trash: ["M5 7h14", "M10 7V4.5h4V7", "M7 7l1 13h8l1-13", "M10.5 11v6", "M13.5 11v6"],
};
function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon-svg");
  for (const d of ICONS[name]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

// ------------------------------------------------------------------- state

const state = {
  me: null,
  users: new Map(), // id -> User (everyone but me, plus room members)
  online: new Set(),
  rooms: new Map(), // id -> Room
  messages: new Map(), // roomId -> [Message] in (createdAt, _id) order
  hasOlder: new Map(), // roomId -> bool
  openRoomId: null,
  typing: new Map(), // roomId -> Map(userId -> expiry timer)
  editingId: null,
  confirmDeleteId: null,
  pendingImage: null,
  socket: null,
  everConnected: false,
  loggingOut: false,
};

const PAGE = 50;
const TYPING_SHOW_MS = 3500;
const TYPING_SEND_EVERY_MS = 1500;

const time = (m) => Date.parse(m.createdAt);
function compareMessages(a, b) {
  const d = time(a) - time(b);
  if (d) return d;
  return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
}

/** Adds or replaces messages of a room, one copy per `_id`, kept in (createdAt, _id) order. */
function mergeMessages(roomId, incoming) {
  const list = state.messages.get(roomId) || [];
  const byId = new Map(list.map((m) => [m._id, m]));
  let added = 0;
  for (const m of incoming) {
    if (!byId.has(m._id)) added++;
    byId.set(m._id, m);
  }
  state.messages.set(roomId, [...byId.values()].sort(compareMessages));
  return added;
}

// ------------------------------------------------------------------ errors

let toastTimer;
function showError(err) {
  const msg = err instanceof ApiError ? err.message : String(err?.message || err);
  console.error("natter:", msg);
  const t = $("toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 6000);
}

/** Runs an async action; an API error is shown, a 401 sends the user back to the login form. */
async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && state.me) {
      sessionEnded("Your session has ended. Please log in again.");
      return undefined;
    }
    showError(e);
    return undefined;
  }
}

// --------------------------------------------------------------- auth view

function showAuth(which = "login") {
  $("chat-view").hidden = true;
  $("auth-view").hidden = false;
  $("login-form").hidden = which !== "login";
  $("signup-form").hidden = which !== "signup";
  document.title = "natter";
  const first = which === "login" ? $("login-identifier") : $("signup-fullname");
  first.focus();
}

for (const b of document.querySelectorAll("[data-show]")) {
  b.addEventListener("click", () => showAuth(b.dataset.show));
}

async function submitAuth(form, call) {
  const error = form.querySelector(".form-error");
  const button = form.querySelector("button[type=submit]");
  error.textContent = "";
  button.disabled = true;
  try {
    const user = await call();
    form.reset();
    await enterChat(user);
  } catch (e) {
    error.textContent = e instanceof ApiError ? e.message : String(e);
  } finally {
    button.disabled = false;
  }
}

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.currentTarget;
  submitAuth(f, () => api.login(f.identifier.value.trim(), f.password.value));
});

$("signup-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.currentTarget;
  submitAuth(f, () => api.signup(f.fullName.value.trim(), f.email.value.trim(), f.password.value));
});

$("logout").addEventListener("click", async () => {
  state.loggingOut = true;
  try {
    await api.logout();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) showError(e);
  }
  resetChat();
  state.loggingOut = false;
  history.replaceState(null, "", "/");
  showAuth("login");
});

function sessionEnded(message) {
  resetChat();
  showAuth("login");
  $("login-form").querySelector(".form-error").textContent = message;
}

function resetChat() {
  if (state.socket) {
    state.socket.removeAllListeners();
    state.socket.disconnect();
  }
  for (const timers of state.typing.values()) for (const t of timers.values()) clearTimeout(t);
  Object.assign(state, {
    me: null,
    socket: null,
    everConnected: false,
    openRoomId: null,
    editingId: null,
    confirmDeleteId: null,
    pendingImage: null,
  });
  for (const k of ["users", "online", "rooms", "messages", "hasOlder", "typing"]) state[k].clear();
  messageEls.clear();
  $("messages").replaceChildren();
  $("room-list").replaceChildren();
  $("people-list").replaceChildren();
  $("conn-banner").hidden = true;
  document.body.classList.remove("show-conversation");
}

// --------------------------------------------------------------- chat view

async function enterChat(user) {
  state.me = user;
  $("auth-view").hidden = true;
  $("chat-view").hidden = false;
  $("me-name").textContent = user.fullName;
  setAvatar($("me-avatar"), user);
  const [users, rooms] = await Promise.all([api.users(), api.rooms()]);
  for (const u of users) state.users.set(u._id, u);
  setRooms(rooms);
  renderSidebar();
  renderConversation();
  connectSocket();
  const m = location.pathname.match(/^\/rooms\/([^/]+)$/);
  if (m && state.rooms.has(m[1])) await openRoom(m[1], { push: false });
  else history.replaceState(null, "", "/");
}

function setRooms(rooms) {
  const fresh = new Map();
  for (const r of rooms) {
    fresh.set(r._id, r);
    for (const u of r.members || []) if (u._id !== state.me._id) state.users.set(u._id, u);
  }
  // A room only this client knows of (just created, not in the first page) stays.
  for (const [id, r] of state.rooms) if (!fresh.has(id)) fresh.set(id, r);
  state.rooms = fresh;
}

function putRoom(room) {
  const old = state.rooms.get(room._id);
  // A Room from a mutation (create, add members) may lack the caller's unread state.
  state.rooms.set(room._id, { ...old, ...room });
  for (const u of room.members || []) if (u._id !== state.me._id) state.users.set(u._id, u);
}

function otherMember(room) {
  return (room.members || []).find((u) => u._id !== state.me._id);
}

function roomTitle(room) {
  if (room.kind === "direct") return otherMember(room)?.fullName || "Direct conversation";
  if (room.name) return room.name;
  const names = (room.members || []).filter((u) => u._id !== state.me._id).map((u) => u.fullName);
  return names.join(", ") || "Group";
}

function lastActivity(room) {
  return Date.parse(room.lastMessage?.createdAt || room.updatedAt || room.createdAt || 0) || 0;
}

function setAvatar(el, user) {
  el.replaceChildren();
  if (user?.profilePic) el.append(h("img", { src: user.profilePic, alt: "" }));
  else el.textContent = (user?.fullName || "?").trim().charAt(0).toUpperCase();
}

function presenceDot(userId) {
  const on = state.online.has(userId);
  return h(
    "span",
    { class: `dot ${on ? "on" : "off"}`, dataset: { testid: "presence", online: on ? "true" : "false" } },
    h("span", { class: "visually-hidden", text: on ? "online" : "offline" }),
  );
}

function preview(m) {
  if (!m) return "";
  const who = m.senderId === state.me._id ? "You: " : "";
  return who + (m.text || (m.image ? "[image]" : ""));
}

function renderSidebar() {
  const rooms = [...state.rooms.values()].sort((a, b) => lastActivity(b) - lastActivity(a));
  $("rooms-empty").hidden = rooms.length > 0;
  $("room-list").replaceChildren(
    ...rooms.map((room) => {
      const other = room.kind === "direct" ? otherMember(room) : null;
      const unread = room._id === state.openRoomId && pageVisible() ? 0 : room.unreadCount || 0;
      const typing = typingNames(room._id);
      const current = room._id === state.openRoomId;
      return h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: `entry${current ? " current" : ""}`,
            "aria-current": current ? "true" : undefined,
            dataset: { testid: "room", roomId: room._id, kind: room.kind },
            onclick: () => guarded(() => openRoom(room._id)),
          },
          h(
            "span",
            { class: "avatar-wrap" },
            h("span", { class: "avatar", "aria-hidden": "true", text: roomTitle(room).charAt(0).toUpperCase() }),
            other ? presenceDot(other._id) : null,
          ),
          h(
            "span",
            { class: "entry-main" },
            h("span", { class: "entry-name", dataset: { testid: "room-name" }, text: roomTitle(room) }),
            h("span", { class: "entry-sub", text: typing ? `${typing} typing…` : preview(room.lastMessage) }),
          ),
          unread > 0
            ? h("span", {
                class: "badge",
                dataset: { testid: "unread" },
                "aria-label": `${unread} unread`,
                text: String(unread),
              })
            : null,
        ),
      );
    }),
  );
  const people = [...state.users.values()].sort((a, b) => a.fullName.localeCompare(b.fullName));
  $("people-list").replaceChildren(
    ...people.map((u) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "entry",
            dataset: { testid: "person", userId: u._id },
            "aria-label": `Chat with ${u.fullName} (${state.online.has(u._id) ? "online" : "offline"})`,
            onclick: () => guarded(() => openDirect(u._id)),
          },
          h(
            "span",
            { class: "avatar-wrap" },
            (() => {
              const a = h("span", { class: "avatar", "aria-hidden": "true" });
              setAvatar(a, u);
              return a;
            })(),
            presenceDot(u._id),
          ),
          h("span", { class: "entry-main" }, h("span", { class: "entry-name", text: u.fullName })),
        ),
      ),
    ),
  );
  const total = [...state.rooms.values()].reduce((n, r) => n + (r._id === state.openRoomId ? 0 : r.unreadCount || 0), 0);
  document.title = total ? `(${total}) natter` : "natter";
}

// ------------------------------------------------------------ conversation

async function openDirect(userId) {
  const existing = [...state.rooms.values()].find(
    (r) => r.kind === "direct" && (r.members || []).some((u) => u._id === userId),
  );
  if (existing) return openRoom(existing._id);
  const room = await api.createRoom([userId]);
  putRoom(room);
  return openRoom(room._id);
}

async function openRoom(roomId, { push = true } = {}) {
  if (state.openRoomId !== roomId) {
    state.openRoomId = roomId;
    state.editingId = null;
    state.confirmDeleteId = null;
    messageEls.clear();
    $("messages").replaceChildren();
    clearPendingImage();
    $("composer-text").value = "";
  }
  if (push && location.pathname !== `/rooms/${roomId}`) history.pushState({ roomId }, "", `/rooms/${roomId}`);
  document.body.classList.add("show-conversation");
  renderSidebar();
  renderConversation();
  if (!state.messages.has(roomId)) {
    const page = await api.messages(roomId);
    mergeMessages(roomId, page);
    state.hasOlder.set(roomId, page.length >= PAGE);
    if (state.openRoomId === roomId) renderConversation({ scroll: true });
  } else {
    renderConversation({ scroll: true });
  }
  $("composer-text").focus();
  markReadIfViewing(roomId);
}

function closeRoomOnPhone() {
  document.body.classList.remove("show-conversation");
}

$("back").addEventListener("click", () => {
  closeRoomOnPhone();
  const entry = document.querySelector(`[data-room-id="${CSS.escape(state.openRoomId || "")}"]`);
  entry?.focus();
});

window.addEventListener("popstate", () => {
  if (!state.me) return;
  const m = location.pathname.match(/^\/rooms\/([^/]+)$/);
  if (m && state.rooms.has(m[1])) guarded(() => openRoom(m[1], { push: false }));
  else closeRoomOnPhone();
});

const pageVisible = () => document.visibilityState === "visible";

const readInFlight = new Set();
/** Marks the open room read when it is on screen and has unread messages from others. */
async function markReadIfViewing(roomId) {
  const room = state.rooms.get(roomId);
  if (!room || roomId !== state.openRoomId || !pageVisible() || readInFlight.has(roomId)) return;
  const mine = (room.reads || []).find((r) => r.userId === state.me._id);
  const lastOther = [...(state.messages.get(roomId) || [])].reverse().find((m) => m.senderId !== state.me._id);
  const behind = lastOther && (!mine?.readAt || Date.parse(mine.readAt) < time(lastOther));
  if (!(room.unreadCount > 0) && !behind) return;
  readInFlight.add(roomId);
  try {
    const receipt = await api.markRead(roomId);
    applyRead(receipt);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 0)) showError(e);
  } finally {
    readInFlight.delete(roomId);
  }
}

document.addEventListener("visibilitychange", () => {
  if (pageVisible() && state.openRoomId) markReadIfViewing(state.openRoomId);
});

function applyRead({ roomId, userId, readAt }) {
  const room = state.rooms.get(roomId);
  if (!room) return;
  const reads = (room.reads || []).filter((r) => r.userId !== userId);
  const old = (room.reads || []).find((r) => r.userId === userId);
  const newer = !old?.readAt || Date.parse(readAt) >= Date.parse(old.readAt);
  reads.push({ userId, readAt: newer ? readAt : old.readAt });
  room.reads = reads;
  if (userId === state.me._id) room.unreadCount = 0;
  renderSidebar();
  if (roomId === state.openRoomId) renderConversation();
}

/** Names of the other members whose read mark is at or after my last message, if it is. */
function seenBy(room, msgs) {
  const mineLast = [...msgs].reverse().find((m) => m.senderId === state.me._id);
  if (!mineLast) return { id: null, names: [] };
  const names = (room.reads || [])
    .filter((r) => r.userId !== state.me._id && r.readAt && Date.parse(r.readAt) >= time(mineLast))
    .map((r) => state.users.get(r.userId)?.fullName || "someone");
  return { id: mineLast._id, names };
}

function typingNames(roomId) {
  const t = state.typing.get(roomId);
  if (!t || !t.size) return "";
  const names = [...t.keys()].map((id) => state.users.get(id)?.fullName || "Someone");
  return names.length === 1 ? `${names[0]} is` : `${names.join(", ")} are`;
}

function renderTyping() {
  const t = state.openRoomId ? typingNames(state.openRoomId) : "";
  $("typing").textContent = t ? `${t} typing…` : "";
}

const messageEls = new Map(); // _id -> {el, key}

function renderConversation({ scroll = false } = {}) {
  const room = state.openRoomId ? state.rooms.get(state.openRoomId) : null;
  $("composer").hidden = !room;
  $("add-members").hidden = !(room && room.kind === "group" && (room.createdBy === state.me._id || state.me.role === "admin"));
  $("room-title").textContent = room ? roomTitle(room) : "Pick a conversation";
  const sub = $("room-sub");
  sub.replaceChildren();
  if (room?.kind === "direct") {
    const other = otherMember(room);
    if (other) sub.append(presenceDot(other._id), state.online.has(other._id) ? " online" : " offline");
  } else if (room) {
    sub.textContent = (room.members || []).map((u) => (u._id === state.me._id ? "You" : u.fullName)).join(", ");
  }
  renderTyping();
  const list = $("messages");
  if (!room) {
    list.replaceChildren();
    messageEls.clear();
    $("load-older").hidden = true;
    return;
  }
  const scroller = $("messages-scroll");
  const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const msgs = state.messages.get(room._id) || [];
  $("load-older").hidden = !state.hasOlder.get(room._id);
  const seen = seenBy(room, msgs);
  const group = room.kind === "group";
  const keep = new Set(msgs.map((m) => m._id));
  for (const [id, { el }] of messageEls) {
    if (!keep.has(id)) {
      el.remove();
      messageEls.delete(id);
    }
  }
  let prev = null;
  msgs.forEach((m, i) => {
    const seenNames = m._id === seen.id ? seen.names : [];
    const editing = state.editingId === m._id;
    const confirming = state.confirmDeleteId === m._id;
    const key = JSON.stringify([m.updatedAt, m.editedAt, m.text, m.image, seenNames, editing, confirming, group]);
    let entry = messageEls.get(m._id);
    if (!entry || (entry.key !== key && !(editing && entry.editing))) {
      const el = renderMessage(m, { seenNames, editing, confirming, group });
      if (entry) entry.el.replaceWith(el);
      entry = { el, key, editing };
      messageEls.set(m._id, entry);
    }
    const at = list.children[i];
    if (at !== entry.el) {
      if (prev) prev.after(entry.el);
      else list.prepend(entry.el);
    }
    prev = entry.el;
  });
  if (scroll || nearBottom) scroller.scrollTop = scroller.scrollHeight;
}

function fmtTime(iso) {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

function renderMessage(m, { seenNames, editing, confirming, group }) {
  const own = m.senderId === state.me._id;
  const sender = own ? state.me : state.users.get(m.senderId);
  const body = [];
  if (group && !own) body.push(h("span", { class: "sender", text: sender?.fullName || "Unknown" }));
  if (m.image) {
    body.push(
      h(
        "a",
        { href: m.image, target: "_blank", rel: "noopener", class: "image-link" },
        h("img", { src: m.image, alt: "Image", dataset: { testid: "message-image" } }),
      ),
    );
  }
  if (editing) {
    const input = h("input", {
      value: m.text,
      "aria-label": "Edit message",
      dataset: { testid: "edit-input" },
      onkeydown: (e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          state.editingId = null;
          renderConversation();
          $("composer-text").focus();
        }
      },
    });
    body.push(
      h(
        "form",
        {
          class: "edit-form",
          onsubmit: (e) => {
            e.preventDefault();
            saveEdit(m, input.value);
          },
        },
        input,
        h("button", { type: "submit", class: "primary", text: "Save" }),
        h("button", {
          type: "button",
          text: "Cancel",
          onclick: () => {
            state.editingId = null;
            renderConversation();
          },
        }),
      ),
    );
    queueMicrotask(() => {
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
    });
  } else if (m.text) {
    body.push(h("p", { class: "text", dataset: { testid: "message-text" }, text: m.text }));
  }
  const meta = h(
    "span",
    { class: "meta" },
    h("time", { datetime: m.createdAt, text: fmtTime(m.createdAt) }),
    m.editedAt ? h("span", { class: "edited", dataset: { testid: "edited" }, text: " · edited" }) : null,
  );
  body.push(meta);
  const actions = [];
  if (own && !editing) {
    if (confirming) {
      actions.push(
        h("span", { class: "confirm", text: "Delete this message?" }),
        h("button", { type: "button", class: "danger", text: "Delete", onclick: () => deleteMessage(m) }),
        h("button", {
          type: "button",
          text: "Keep",
          onclick: () => {
            state.confirmDeleteId = null;
            renderConversation();
          },
        }),
      );
    } else {
      if (m.text || !m.image)
        actions.push(
          h(
            "button",
            {
              type: "button",
              class: "icon",
              "aria-label": "Edit message",
              title: "Edit",
              onclick: () => {
                state.editingId = m._id;
                state.confirmDeleteId = null;
                renderConversation();
              },
            },
            icon("edit"),
          ),
        );
      actions.push(
        h(
          "button",
          {
            type: "button",
            class: "icon",
            "aria-label": "Delete message",
            title: "Delete",
            onclick: () => {
              state.confirmDeleteId = m._id;
              state.editingId = null;
              renderConversation();
            },
          },
          icon("trash"),
        ),
      );
    }
  }
  return h(
    "li",
    { class: `msg ${own ? "own" : "theirs"}`, dataset: { testid: "message", id: m._id, senderId: m.senderId } },
    h(
      "div",
      { class: "row" },
      h("div", { class: "bubble" }, ...body),
      actions.length ? h("div", { class: "actions" }, ...actions) : null,
    ),
    seenNames.length
      ? h("p", {
          class: "seen",
          dataset: { testid: "seen" },
          text: group ? `Seen by ${seenNames.join(", ")}` : "Seen",
        })
      : null,
  );
}

async function saveEdit(m, text) {
  text = text.trim();
  if (!text) return showError("A message cannot be empty; delete it instead.");
  if (text === m.text) {
    state.editingId = null;
    return renderConversation();
  }
  const updated = await guarded(() => api.edit(m._id, text));
  if (!updated) return;
  state.editingId = null;
  onMessageUpdated(updated);
  $("composer-text").focus();
}

async function deleteMessage(m) {
  const done = await guarded(() => api.remove(m._id));
  state.confirmDeleteId = null;
  if (done) onMessageDeleted({ _id: m._id, roomId: m.roomId });
  else renderConversation();
  $("composer-text").focus();
}

$("load-older").addEventListener("click", () =>
  guarded(async () => {
    const roomId = state.openRoomId;
    const first = (state.messages.get(roomId) || [])[0];
    if (!first) return;
    const scroller = $("messages-scroll");
    const before = scroller.scrollHeight;
    const page = await api.messages(roomId, { before: first._id, limit: PAGE });
    mergeMessages(roomId, page);
    state.hasOlder.set(roomId, page.length >= PAGE);
    renderConversation();
    scroller.scrollTop += scroller.scrollHeight - before;
  }),
);

// ---------------------------------------------------------------- composer

const composerText = $("composer-text");

composerText.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});

let lastTypingSent = 0;
composerText.addEventListener("input", () => {
  composerText.style.height = "auto";
  composerText.style.height = `${Math.min(composerText.scrollHeight, 160)}px`;
  const now = Date.now();
  if (state.socket?.connected && state.openRoomId && composerText.value && now - lastTypingSent > TYPING_SEND_EVERY_MS) {
    lastTypingSent = now;
    state.socket.emit("typing", { roomId: state.openRoomId });
  }
});

$("composer-image").addEventListener("change", (e) => {
  const file = e.target.files?.[0];
  e.target.value = "";
  if (!file) return;
  if (!file.type.startsWith("image/")) return showError("Only images can be attached.");
  const reader = new FileReader();
  reader.onload = () => {
    state.pendingImage = reader.result;
    $("image-preview-img").src = reader.result;
    $("image-preview").hidden = false;
    composerText.focus();
  };
  reader.onerror = () => showError("Could not read that file.");
  reader.readAsDataURL(file);
});

function clearPendingImage() {
  state.pendingImage = null;
  $("image-preview").hidden = true;
  $("image-preview-img").removeAttribute("src");
}
$("image-remove").addEventListener("click", () => {
  clearPendingImage();
  composerText.focus();
});

let sending = false;
$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const roomId = state.openRoomId;
  const text = composerText.value.trim();
  const image = state.pendingImage;
  if (!roomId || (!text && !image) || sending) return;
  sending = true;
  try {
    const m = await guarded(() => api.send(roomId, text, image));
    if (!m) return;
    if (state.openRoomId === roomId) {
      composerText.value = "";
      composerText.style.height = "auto";
      clearPendingImage();
    }
    onNewMessage(m);
  } finally {
    sending = false;
  }
});

// ------------------------------------------------------------------ dialogs

function checkboxes(container, users, name) {
  container.replaceChildren(
    ...users.map((u) => {
      const id = `${name}-${u._id}`;
      return h(
        "div",
        { class: "check" },
        h("input", { type: "checkbox", id, value: u._id, name }),
        h("label", { for: id, text: u.fullName }),
      );
    }),
  );
  if (!users.length) container.append(h("p", { class: "empty", text: "Nobody else to add." }));
}

function setupDialog(dialog, onSubmit) {
  const form = dialog.querySelector("form");
  const error = form.querySelector(".form-error");
  form.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await onSubmit(form);
      dialog.close();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) sessionEnded("Your session has ended. Please log in again.");
      else error.textContent = err?.message || String(err);
    } finally {
      button.disabled = false;
    }
  });
  dialog.addEventListener("close", () => {
    error.textContent = "";
  });
}

const selected = (form, name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

$("new-group").addEventListener("click", () => {
  const people = [...state.users.values()].sort((a, b) => a.fullName.localeCompare(b.fullName));
  checkboxes($("group-people"), people, "group-member");
  $("group-form").reset();
  $("group-dialog").showModal();
  $("group-name").focus();
});

setupDialog($("group-dialog"), async (form) => {
  const name = form.name.value.trim();
  const ids = selected(form, "group-member");
  if (!name) throw new Error("Give the group a name.");
  if (!ids.length) throw new Error("Pick at least one member.");
  const room = await api.createRoom(ids, name);
  putRoom(room);
  await openRoom(room._id);
});

$("add-members").addEventListener("click", () => {
  const room = state.rooms.get(state.openRoomId);
  if (!room) return;
  const inRoom = new Set((room.members || []).map((u) => u._id));
  const people = [...state.users.values()]
    .filter((u) => !inRoom.has(u._id))
    .sort((a, b) => a.fullName.localeCompare(b.fullName));
  checkboxes($("members-people"), people, "add-member");
  $("members-dialog").showModal();
  $("members-people").querySelector("input")?.focus();
});

setupDialog($("members-dialog"), async (form) => {
  const ids = selected(form, "add-member");
  if (!ids.length) throw new Error("Pick at least one person.");
  const room = await api.addMembers(state.openRoomId, ids);
  putRoom(room);
  renderSidebar();
  renderConversation();
});

// ------------------------------------------------------------------ realtime

function connectSocket() {
  // Same origin: the handshake carries the httpOnly `jwt` cookie.
  const socket = io({ withCredentials: true, reconnectionDelayMax: 5000 });
  state.socket = socket;
  const banner = $("conn-banner");

  socket.on("connect", () => {
    banner.hidden = true;
    const again = state.everConnected;
    state.everConnected = true;
    if (again) guarded(catchUp);
  });
  socket.on("disconnect", (reason) => {
    if (state.loggingOut || !state.me) return;
    banner.textContent = navigator.onLine ? "Connection lost. Reconnecting…" : "You are offline. Waiting for the network…";
    banner.hidden = false;
    state.online.clear();
    state.typing.clear();
    renderSidebar();
    renderConversation();
    // A server-side disconnect is not retried by the client by itself.
    if (reason === "io server disconnect" && navigator.onLine) setTimeout(() => state.socket === socket && socket.connect(), 1000);
  });
  let retry = 0;
  socket.on("connect_error", async (err) => {
    banner.textContent = "Cannot reach the server. Retrying…";
    banner.hidden = false;
    if (socket.active) return; // the client retries transport errors by itself
    // Refused by the server (an expired access token): `check` refreshes the cookies.
    try {
      await api.check();
      retry = Math.min(retry + 1, 5);
      setTimeout(() => state.socket === socket && navigator.onLine && socket.connect(), 500 * retry);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) sessionEnded("Your session has ended. Please log in again.");
      else console.warn("natter: socket refused:", err.message);
    }
  });
  socket.on("sessionRevoked", () => {
    if (!state.loggingOut) sessionEnded("You were logged out.");
  });
  socket.on("getOnlineUsers", (ids) => {
    state.online = new Set(Array.isArray(ids) ? ids : []);
    // Someone online we have never listed signed up after we loaded: list people again.
    if ([...state.online].some((id) => id !== state.me?._id && !state.users.has(id))) refreshPeople();
    renderSidebar();
    renderConversation();
  });
  socket.on("newMessage", (m) => onNewMessage(m));
  socket.on("messageUpdated", (m) => onMessageUpdated(m));
  socket.on("messageDeleted", (d) => onMessageDeleted(d));
  socket.on("messagesRead", (r) => applyRead(r));
  socket.on("typing", ({ roomId, userId }) => {
    if (!roomId || userId === state.me?._id) return;
    const timers = state.typing.get(roomId) || new Map();
    clearTimeout(timers.get(userId));
    timers.set(
      userId,
      setTimeout(() => {
        timers.delete(userId);
        renderTyping();
        renderSidebar();
      }, TYPING_SHOW_MS),
    );
    state.typing.set(roomId, timers);
    renderTyping();
    renderSidebar();
  });
}

// The browser knows before the socket does: a dead network may leave a WebSocket looking
// open for a long time. Drop it at once and reconnect (and catch up) when the network is back.
window.addEventListener("offline", () => {
  if (state.socket?.connected || state.socket?.active) state.socket.disconnect();
});
window.addEventListener("online", () => {
  if (state.socket && !state.socket.connected) state.socket.connect();
});

let peopleFetch = null;
function refreshPeople() {
  peopleFetch ||= api
    .users()
    .then((users) => {
      for (const u of users) state.users.set(u._id, u);
      renderSidebar();
    })
    .catch((e) => console.warn("natter: could not list people:", e.message))
    .finally(() => (peopleFetch = null));
}

function stopTyping(roomId, userId) {
  const timers = state.typing.get(roomId);
  if (timers?.has(userId)) {
    clearTimeout(timers.get(userId));
    timers.delete(userId);
  }
}

const roomFetches = new Map(); // roomId -> pending GET of a room new to this client

async function onNewMessage(m) {
  if (!m?._id || !m.roomId) return;
  let room = state.rooms.get(m.roomId);
  if (!room) {
    // A conversation someone else started: its Room (with the server's unread count) is new to us.
    if (!roomFetches.has(m.roomId)) {
      roomFetches.set(
        m.roomId,
        guarded(() => api.room(m.roomId)).finally(() => roomFetches.delete(m.roomId)),
      );
      room = await roomFetches.get(m.roomId);
      if (!room) return;
      putRoom(room);
    } else {
      await roomFetches.get(m.roomId);
    }
    if (state.messages.has(m.roomId)) mergeMessages(m.roomId, [m]);
    renderSidebar();
    return;
  }
  stopTyping(m.roomId, m.senderId);
  const held = state.messages.has(m.roomId);
  const known = held && state.messages.get(m.roomId).some((x) => x._id === m._id);
  if (held) mergeMessages(m.roomId, [m]);
  if (!room.lastMessage || compareMessages(room.lastMessage, m) <= 0) room.lastMessage = m;
  const fromOther = m.senderId !== state.me._id;
  const viewing = m.roomId === state.openRoomId && pageVisible();
  if (fromOther && !known && !viewing && !room.lastCounted?.has(m._id)) {
    room.unreadCount = (room.unreadCount || 0) + 1;
    (room.lastCounted ||= new Set()).add(m._id);
  }
  renderSidebar();
  if (m.roomId === state.openRoomId) {
    renderConversation({ scroll: !fromOther });
    if (fromOther) markReadIfViewing(m.roomId);
  }
}

function onMessageUpdated(m) {
  const list = state.messages.get(m.roomId);
  if (list?.some((x) => x._id === m._id)) mergeMessages(m.roomId, [m]);
  const room = state.rooms.get(m.roomId);
  if (room?.lastMessage?._id === m._id) room.lastMessage = m;
  renderSidebar();
  if (m.roomId === state.openRoomId) renderConversation();
}

function onMessageDeleted({ _id, roomId }) {
  const list = state.messages.get(roomId);
  if (list) state.messages.set(roomId, list.filter((x) => x._id !== _id));
  if (state.editingId === _id) state.editingId = null;
  const room = state.rooms.get(roomId);
  if (room?.lastMessage?._id === _id) {
    const rest = state.messages.get(roomId);
    room.lastMessage = rest?.length ? rest[rest.length - 1] : null;
  }
  renderSidebar();
  if (roomId === state.openRoomId) renderConversation();
}

/** After a reconnect: the room list afresh, and every held room's messages after the last one held. */
async function catchUp() {
  setRooms(await api.rooms());
  for (const [roomId, list] of state.messages) {
    if (!state.rooms.has(roomId)) continue;
    let after = list.length ? list[list.length - 1]._id : undefined;
    for (;;) {
      const page = after ? await api.messages(roomId, { after, limit: 200 }) : await api.messages(roomId);
      mergeMessages(roomId, page);
      if (!after || page.length < 200) break;
      after = page[page.length - 1]._id;
    }
  }
  // Edits and deletions made while away are not replayed by `after`: refresh the open room's tail.
  const open = state.openRoomId;
  if (open && state.messages.has(open)) {
    const tail = await api.messages(open, { limit: PAGE });
    const held = state.messages.get(open);
    const since = tail.length ? tail[0] : null;
    if (since) {
      const ids = new Set(tail.map((m) => m._id));
      const kept = held.filter((m) => compareMessages(m, since) < 0 || ids.has(m._id));
      state.messages.set(open, kept);
      mergeMessages(open, tail);
    }
  }
  renderSidebar();
  renderConversation();
  if (open) markReadIfViewing(open);
}

// ------------------------------------------------------------------- start

async function start() {
  try {
    const user = await api.check();
    await enterChat(user);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) showError(e);
    resetChat();
    showAuth(location.pathname === "/signup" ? "signup" : "login");
  }
}

start();
