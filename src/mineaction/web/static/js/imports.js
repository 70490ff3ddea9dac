// Imports: upload (dry run) -> report -> commit, polling the job for progress.
import { api, el, num, t } from "./common.js";

const form = document.getElementById("import-form");
const stateEl = document.getElementById("job-state");
const progress = document.getElementById("job-progress");
const report = document.getElementById("report");
const commitBtn = document.getElementById("commit");
const done = document.getElementById("done");
const cancelBtn = document.getElementById("cancel");
let dryJob = null;
let runningId = null;

const ENDED = ["done", "rejected", "failed", "cancelled"];

async function poll(jobId) {
  runningId = jobId;
  cancelBtn.hidden = false;
  cancelBtn.disabled = false;
  try { return await follow(jobId); } finally { runningId = null; cancelBtn.hidden = true; }
}

async function follow(jobId) {
  for (;;) {
    const res = await api("GET", `/api/v1/imports/${jobId}`);
    if (!res.ok) { stateEl.textContent = res.data?.message || t("Failed ({status}).", { status: res.status }); return null; }
    const job = res.data;
    const total = job.report?.rows_read || job.rows_read || 0;
    const values = { state: t(job.state), rows: num(job.rows_read) };
    stateEl.textContent = job.dry_run ? t("Dry run: {state}, {rows} rows read", values) : t("Import: {state}, {rows} rows read", values);
    progress.removeAttribute("value");
    if (ENDED.includes(job.state)) {
      progress.max = Math.max(total, 1); progress.value = Math.max(total, 1);
      return job;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

function showReport(job) {
  report.hidden = false;
  const r = job.report || {};
  const tbody = report.querySelector("#report-counts tbody");
  tbody.replaceChildren();
  for (const [kind, c] of Object.entries(r.kinds || {})) {
    tbody.append(el("tr", { "data-kind": kind }, el("td", { text: kind.replaceAll("_", " ") }),
      ...["added", "changed", "unchanged", "removed", "rejected"].map((k) => el("td", { class: "num", "data-count": k, text: num(c[k] ?? 0) }))));
  }
  const errors = report.querySelector("#report-errors");
  errors.replaceChildren();
  if (job.state === "failed") errors.append(el("p", { class: "error", role: "alert", text: r.message || t("The import failed.") }));
  if (job.state === "cancelled") errors.append(el("p", { role: "status", text: r.message || t("The import was cancelled; nothing was imported.") }));
  if (r.error_count) {
    errors.append(el("h3", { text: t("{n} row error(s): nothing can be imported until they are fixed", { n: num(r.error_count) }) }));
    const table = el("table", { id: "row-errors" }, el("thead", {}, el("tr", {}, ...[t("Row"), t("Field"), t("Column"), t("Message")].map((h) => el("th", { scope: "col", text: h })))));
    const body = el("tbody");
    for (const e of r.errors) body.append(el("tr", {}, el("td", { text: String(e.row ?? "") }), el("td", { text: e.field || "" }), el("td", { text: e.column || "" }), el("td", { text: e.message })));
    table.append(body);
    errors.append(table);
  }
  const flags = report.querySelector("#report-flags");
  flags.replaceChildren();
  if (r.flag_count) {
    const shown = (r.flags || []).length;
    flags.append(el("h3", { text: t("{n} record(s) flagged for review", { n: num(r.flag_count) }) + (shown < r.flag_count ? " " + t("(the first {n} shown)", { n: num(shown) }) : "") }));
    const table = el("table", { id: "row-flags" }, el("thead", {}, el("tr", {}, ...[t("Row"), t("Kind"), t("Field"), t("Message")].map((h) => el("th", { scope: "col", text: h })))));
    const body = el("tbody");
    for (const f of r.flags || []) body.append(el("tr", {}, el("td", { text: String(f.row ?? "") }), el("td", { text: (f.kind || "").replaceAll("_", " ") }), el("td", { text: f.field || "" }), el("td", { text: f.message })));
    table.append(body);
    flags.append(table);
  }
  commitBtn.disabled = !(job.state === "done" && job.dry_run);
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  done.hidden = true;
  const file = form.file.files[0];
  if (!file) { stateEl.textContent = t("Choose a file first."); form.file.focus(); return; }
  const data = new FormData();
  data.append("file", file);
  for (const k of ["mapping", "kind", "dataset"]) if (form[k].value) data.append(k, form[k].value);
  data.append("dry_run", "true");
  stateEl.textContent = t("Uploading…");
  const res = await fetch("/api/v1/imports", { method: "POST", body: data, credentials: "same-origin" });
  const body = await res.json();
  if (!res.ok) { stateEl.textContent = body.message || t("Upload failed ({status}).", { status: res.status }); return; }
  const job = await poll(body.id);
  if (job) { dryJob = job; showReport(job); }
});

cancelBtn.addEventListener("click", async () => {
  if (!runningId) return;
  cancelBtn.disabled = true;
  const res = await api("POST", `/api/v1/imports/${runningId}/cancel`);
  if (!res.ok) { stateEl.textContent = res.data?.message || t("Cancel failed ({status}).", { status: res.status }); cancelBtn.disabled = false; }
});

commitBtn.addEventListener("click", async () => {
  commitBtn.disabled = true;
  const res = await api("POST", `/api/v1/imports/${dryJob.id}/commit`);
  if (!res.ok) { stateEl.textContent = res.data?.message || t("Commit failed ({status}).", { status: res.status }); return; }
  const job = await poll(res.data.id);
  if (job && job.state !== "done") showReport(job);
  if (job && job.state === "done") {
    report.querySelector("#report-h").textContent = t("Import report");
    showReport(job);
    done.hidden = false;
    done.textContent = t("Imported {n} rows. The records await approval.", { n: num(job.report.rows_read) });
    done.dataset.state = "done";
  }
});
