// Drafts kept offline (issue 21, 3): a form saved without a network is kept in this
// browser (IndexedDB) and sent when the network is back, from any form page. A change to
// an existing record carries the version it was made on (If-Match): if someone saved a
// newer one meanwhile, the server answers 412 and the draft waits for the user to send it
// over the newer version or discard it, as the form's own conflict box does. Drafts are
// kept per user: another person signed in on the same tablet does not send them.
// field_sw.js keeps the form pages' scripts and the new-record forms for use offline.
import { el, t } from "./common.js";

const DB_NAME = "mineaction-offline";
const STORE = "outbox";

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "key", autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = fn(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(result.result ?? result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  });
}

const all = () => withStore("readonly", (s) => s.getAll());
const put = (item) => withStore("readwrite", (s) => s.put(item));
const remove = (key) => withStore("readwrite", (s) => s.delete(key));

export function currentUser() {
  return document.querySelector("#who .username")?.textContent.trim() || null;
}

// Keep a request for later; `label` says what it is ("New hazard", "Hazard Loma").
export async function keep(request) {
  await put({ ...request, user: currentUser(), state: "waiting", savedAt: new Date().toISOString() });
  window.dispatchEvent(new Event("outbox-changed"));
}

async function send(item) {
  const res = await fetch(item.url, {
    method: item.method, credentials: "same-origin", body: JSON.stringify(item.body),
    headers: { Accept: "application/json", "Content-Type": "application/json", ...item.headers } });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  return { ok: res.ok, status: res.status, data };
}

// The outbox panel of a form page: what waits, what was sent, what needs a decision.
export function attachOutbox(anchor) {
  const panel = el("section", { id: "offline-outbox", class: "outbox", "aria-live": "polite", hidden: true },
    el("h2", { text: t("Kept on this device") }), el("ul", { id: "outbox-list" }));
  anchor.after(panel);
  const list = panel.querySelector("ul");
  const sent = [];
  let flushing = false;

  async function render() {
    const mine = (await all()).filter((i) => i.user === currentUser());
    list.replaceChildren();
    for (const s of sent) {
      list.append(el("li", { class: "sent", "data-state": "sent" }, t("Sent: {label}", { label: s.label }), " — ", el("a", { href: s.href, text: t("open it") })));
    }
    for (const item of mine) {
      const li = el("li", { "data-state": item.state });
      if (item.state === "waiting") {
        li.append(t("{label}: waiting for the network (kept {when}).", { label: item.label, when: new Date(item.savedAt).toLocaleString() }));
      } else if (item.state === "conflict") {
        const v = item.current?.version;
        li.append(t("{label}: someone saved a newer version ({version}) while you were offline. Yours is not saved.", { label: item.label, version: v }), " ",
          el("button", { type: "button", text: t("Send mine over version {version}", { version: v }), onclick: async () => {
            await put({ ...item, state: "waiting", headers: { ...item.headers, "If-Match": `"${v}"` } });
            flush();
          } }), " ",
          el("a", { href: `/records/${item.collection}/${item.recordId}`, text: t("See the newer version") }), " ",
          el("button", { type: "button", text: t("Discard mine"), onclick: async () => { await remove(item.key); render(); } }));
      } else {
        li.append(t("{label}: refused — {message}", { label: item.label, message: item.message }), " ",
          el("button", { type: "button", text: t("Discard"), onclick: async () => { await remove(item.key); render(); } }));
      }
      list.append(li);
    }
    panel.hidden = !list.children.length;
  }

  async function flush() {
    if (flushing || !navigator.onLine) return render();
    flushing = true;
    try {
      for (const item of (await all()).filter((i) => i.user === currentUser() && i.state === "waiting")) {
        let res;
        try { res = await send(item); } catch { break; } // still offline: try again later
        if (res.ok) {
          await remove(item.key);
          const id = res.data?.id || item.recordId;
          sent.push({ label: item.label, href: `/records/${item.collection}/${id}` });
        } else if (res.status === 412 && res.data?.current) {
          await put({ ...item, state: "conflict", current: res.data.current });
        } else if (res.status === 401) {
          break; // signed out meanwhile: kept until the user signs in again
        } else {
          const fields = (res.data?.field_errors || []).map((f) => `${f.field}: ${f.message}`);
          await put({ ...item, state: "refused", message: [res.data?.message || `error ${res.status}`, ...fields].join("; ") });
        }
      }
    } finally {
      flushing = false;
    }
    render();
  }

  window.addEventListener("online", flush);
  window.addEventListener("outbox-changed", render);
  flush();
  return { flush, render };
}

// The service worker that keeps the form pages usable offline (served with the scope of
// /records/ by web/offline.py). Browsers allow it on https and on localhost only.
export function registerFormWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register("/web/field-sw.js", { scope: "/records/" }).catch(() => {});
}
