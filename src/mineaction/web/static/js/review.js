// SPDX-License-Identifier: GPL-3.0-or-later
// The review queue (issue 17): each decision goes to /api/v1/links (the session cookie
// signs it; the browser's Origin header lets it through the server's guard), then the
// page comes again from the server, so what it shows is what the store now holds.
import { api, t } from "./common.js";

const root = document.getElementById("review");
const kind = root.dataset.kind;
const errorEl = document.getElementById("review-error");

function shown(action) {
  // The page says what was done from a fixed list (review.py DONE).
  window.location.assign(`/review?kind=${encodeURIComponent(kind)}&done=${action}`);
}

function failed(res) {
  const fields = (res.data?.field_errors || []).map((f) => `${f.field}: ${f.message}`);
  errorEl.textContent = [res.data?.message || t("Failed ({status}).", { status: res.status }), ...fields].join(" · ");
}

async function send(action, url, body, controls) {
  errorEl.textContent = "";
  for (const c of controls) c.disabled = true;
  const res = await api("POST", url, body);
  if (res.ok) { shown(action); return; }
  for (const c of controls) c.disabled = false;
  failed(res);
}

// Confirm, Reject (pairs in review) and Undo (decided pairs): one listener for all.
root.addEventListener("click", (ev) => {
  const button = ev.target.closest("button[data-action]");
  if (!button) return;
  const { action, link } = button.dataset;
  // The pair's (or row's) buttons are disabled while its decision is on its way.
  const holder = button.parentElement.closest("[data-link]");
  const group = holder ? holder.querySelectorAll("button[data-action]") : [button];
  send(action, `/api/v1/links/${encodeURIComponent(link)}/${action}`, {}, [...group]);
});

function value(form, name) {
  return form.elements[name].value.trim();
}

const merge = document.getElementById("merge-form");
merge.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const a = value(merge, "a"), b = value(merge, "b");
  if (!a || !b) { errorEl.textContent = t("Merge: give both record ids."); return; }
  send("merge", "/api/v1/links/merge", { kind, a, b, note: value(merge, "note") || null },
    merge.querySelectorAll("button"));
});

const split = document.getElementById("split-form");
split.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const record = value(split, "record");
  if (!record) { errorEl.textContent = t("Split: give the record id."); return; }
  send("split", "/api/v1/links/split", { kind, record, note: value(split, "note") || null },
    split.querySelectorAll("button"));
});

const run = document.getElementById("run-form");
run.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const datasets = value(run, "datasets").split(",").map((d) => d.trim()).filter(Boolean);
  send("run", "/api/v1/links/run", {
    kind, datasets, upper: Number(value(run, "upper")), lower: Number(value(run, "lower")),
  }, run.querySelectorAll("button"));
});
