import { api } from "./common.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    error.textContent = "Enter your username and password.";
    return;
  }
  const res = await api("POST", "/api/v1/auth/login", { username, password });
  if (res.ok) {
    window.location.href = form.dataset.next || "/";
  } else {
    error.textContent = (res.data && res.data.message) || `Sign-in failed (${res.status}).`;
    form.password.focus();
  }
});
