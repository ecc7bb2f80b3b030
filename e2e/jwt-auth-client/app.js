// The JWT-auth tutorial's React client, re-created without a build step: auth.service.js,
// auth-header.js, user.service.js, the AuthVerify expiry check and the 401 logout, making
// exactly its calls. The tutorial hard-codes http://localhost:8080; `?api=` overrides it.
import axios from "./axios.js";

const API = new URLSearchParams(location.search).get("api") || "http://localhost:8080";
const AUTH_URL = `${API}/api/auth/`;
const TEST_URL = `${API}/api/test/`;

// auth.service.js
const AuthService = {
  register: (username, email, password) => axios.post(AUTH_URL + "signup", { username, email, password }),
  login: (username, password) =>
    axios.post(AUTH_URL + "signin", { username, password }).then((response) => {
      if (response.data.accessToken) localStorage.setItem("user", JSON.stringify(response.data));
      return response.data;
    }),
  logout: () => localStorage.removeItem("user"),
  getCurrentUser: () => JSON.parse(localStorage.getItem("user")),
};

// auth-header.js (the Node back end's variant)
function authHeader() {
  const user = AuthService.getCurrentUser();
  return user && user.accessToken ? { "x-access-token": user.accessToken } : {};
}

// user.service.js
const UserService = {
  getPublicContent: () => axios.get(TEST_URL + "all"),
  getUserBoard: () => axios.get(TEST_URL + "user", { headers: authHeader() }),
  getModeratorBoard: () => axios.get(TEST_URL + "mod", { headers: authHeader() }),
  getAdminBoard: () => axios.get(TEST_URL + "admin", { headers: authHeader() }),
};

const messageOf = (error) =>
  (error.response && error.response.data && error.response.data.message) || error.message || error.toString();

// common/auth-verify.js: on every route change, log out when the token has expired.
function parseJwt(token) {
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return null;
  }
}
function verifyAuth() {
  const user = AuthService.getCurrentUser();
  if (user) {
    const decoded = parseJwt(user.accessToken);
    if (!decoded || decoded.exp * 1000 < Date.now()) logOut();
  }
}

function logOut() {
  AuthService.logout();
  renderNav();
}

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
};
const link = (hash, text, id) => el("a", { href: `${location.search}#/${hash}`, id }, text);
const page = document.getElementById("page");

function renderNav() {
  const user = AuthService.getCurrentUser();
  const roles = (user && user.roles) || [];
  const nav = document.getElementById("nav");
  nav.replaceChildren(link("home", "Home", "nav-home"));
  if (roles.includes("ROLE_MODERATOR")) nav.append(link("mod", "Moderator Board", "nav-mod"));
  if (roles.includes("ROLE_ADMIN")) nav.append(link("admin", "Admin Board", "nav-admin"));
  if (user) {
    nav.append(link("user", "User", "nav-user"), link("profile", user.username, "nav-profile"));
    const out = link("login", "LogOut", "nav-logout");
    out.addEventListener("click", () => logOut());
    nav.append(out);
  } else {
    nav.append(link("login", "Login", "nav-login"), link("register", "Sign Up", "nav-register"));
  }
}

function alertBox(text, ok) {
  return el("div", { class: "alert", role: "alert", id: ok ? "success" : "error" }, text);
}

function form(id, fields, submit, onSubmit) {
  const f = el("form", { id });
  for (const [name, type] of fields) {
    const input = el("input", { name, type, id: `${id}-${name}`, required: "" });
    f.append(el("label", { for: `${id}-${name}` }, name), input);
  }
  f.append(el("button", { type: "submit" }, submit));
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(f).entries());
    onSubmit(values, f);
  });
  return f;
}

function board(fetchContent) {
  const content = el("header", { id: "board" }, "…");
  page.replaceChildren(content);
  fetchContent().then(
    (response) => content.replaceChildren(String(response.data)),
    (error) => {
      content.replaceChildren(messageOf(error));
      // EventBus.dispatch("logout") on a 401.
      if (error.response && error.response.status === 401) logOut();
    },
  );
}

const routes = {
  home: () => board(UserService.getPublicContent),
  user: () => board(UserService.getUserBoard),
  mod: () => board(UserService.getModeratorBoard),
  admin: () => board(UserService.getAdminBoard),
  register: () =>
    page.replaceChildren(
      form("register", [["username", "text"], ["email", "email"], ["password", "password"]], "Sign Up", (v, f) =>
        AuthService.register(v.username, v.email, v.password).then(
          (response) => f.replaceWith(alertBox(response.data.message, true)),
          (error) => f.after(alertBox(messageOf(error), false)),
        ),
      ),
    ),
  login: () =>
    page.replaceChildren(
      form("login", [["username", "text"], ["password", "password"]], "Login", (v, f) =>
        AuthService.login(v.username, v.password).then(
          () => {
            renderNav();
            location.hash = "#/profile";
          },
          (error) => f.after(alertBox(messageOf(error), false)),
        ),
      ),
    ),
  profile: () => {
    const user = AuthService.getCurrentUser();
    if (!user) {
      location.hash = "#/login";
      return;
    }
    page.replaceChildren(
      el("h3", { id: "profile-username" }, user.username),
      el("p", { id: "profile-token" }, `${user.accessToken.substring(0, 20)} ... ${user.accessToken.substr(user.accessToken.length - 20)}`),
      el("p", { id: "profile-id" }, String(user.id)),
      el("p", { id: "profile-email" }, user.email),
      el("ul", { id: "profile-roles" }, ...user.roles.map((r) => el("li", {}, r))),
    );
  },
};

function route() {
  verifyAuth();
  renderNav();
  const name = (location.hash.replace(/^#\/?/, "") || "home").split("?")[0];
  (routes[name] || routes.home)();
}

window.addEventListener("hashchange", route);
route();
