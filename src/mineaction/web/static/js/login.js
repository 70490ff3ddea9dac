import { api, t } from "./common.js";

const form = document.getElementById("login-form");

// Where to go after signing in: a path on this site, else the home page. The server
// already sends only such paths (auth/next_path.py); this is the browser's own parser
// agreeing, so no reading of the URL other than the server's can leave the site.
function sameSite(next) {
  if (typeof next !== "string" || !next.startsWith("/") || next.length > 2000 ||
      /[\\\s\u0000-\u001f\u007f]/.test(next)) return "/";
  try {
    const url = new URL(next, window.location.origin);
    if (url.origin !== window.location.origin) return "/";
    return url.pathname + url.search + url.hash;
  } catch {
    return "/";
  }
}
const error = document.getElementById("login-error");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    error.textContent = t("Enter your username and password.");
    return;
  }
  const res = await api("POST", "/api/v1/auth/login", { username, password });
  if (res.ok) {
    window.location.href = sameSite(form.dataset.next);
  } else {
    error.textContent = (res.data && res.data.message) || t("Sign-in failed ({status}).", { status: res.status });
    form.password.focus();
  }
});
