// Shared helpers: JSON requests to the API (the session cookie signs them), sign-out,
// and small DOM builders that never parse HTML from data.
export async function api(method, url, body, headers = {}) {
  const opts = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(url, opts);
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  return { ok: res.ok, status: res.status, data, etag: res.headers.get("ETag") };
}

// The page's language (issue 22): base.html embeds the scripts' texts, translated, as a
// JSON data block (no inline script for the CSP to refuse); t("text") gives a text in the
// page's language, t("{n} rows", { n }) fills its placeholders. English pages embed {}.
const STRINGS = (() => {
  try { return JSON.parse(document.getElementById("i18n")?.textContent || "{}"); } catch { return {}; }
})();
export const LANG = document.documentElement.lang || "en";

export function t(message, values = {}) {
  let text = STRINGS[message] || message;
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

// A number in the page's language (the browser's Intl, the same CLDR data as Babel).
export function num(value, digits = 0) {
  return Number(value).toLocaleString(LANG, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    await api("POST", "/api/v1/auth/logout");
    window.location.href = "/";
  });
}

// A select that applies its form when changed (no inline handlers: the pages' CSP
// allows only script files).
for (const select of document.querySelectorAll("select[data-submit-on-change]")) {
  select.addEventListener("change", () => select.form.submit());
}
