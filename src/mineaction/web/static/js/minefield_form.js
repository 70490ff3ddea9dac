// The minefield record form (web/minefields.py): legs typed in a table, sent to the API's
// traverse computation a moment after each keystroke, and the points and perimeter it
// answers drawn on the map, with the closure error, precision, area and warnings. Save
// sends the record as a record file to the import endpoint, so the form and
// `mineaction minefield import` read a record the same way.
import { LANG, api, el, t } from "./common.js";
import { newMap } from "./basemap.js";

const COMPUTE = "/api/v1/minefield-records/compute";
const IMPORT = "/api/v1/minefield-records/import";
// Long enough not to ask at every keystroke of "250", short enough to feel live.
const DEBOUNCE_MS = 250;

const form = document.getElementById("minefield-form");
const body = document.getElementById("legs-body");
const rowTemplate = document.getElementById("leg-row");
const mapEl = document.getElementById("traverse-map");
const statusEl = document.getElementById("traverse-status");
const warningsEl = document.getElementById("traverse-warnings");
const formError = document.getElementById("form-error");
const startLegs = Number(document.getElementById("minefield-script")?.dataset.startLegs || 4);
const value = (name) => form.elements[name].value.trim();
const number = (text) => (text === "" ? null : Number(text));

function addLeg() {
  const row = rowTemplate.content.firstElementChild.cloneNode(true);
  row.querySelector(".remove-leg").addEventListener("click", () => { row.remove(); schedule(); });
  body.append(row);
  return row;
}

// The legs typed so far: a row counts once it has where it goes, a bearing and a
// distance; a blank From is the previous leg's end (the benchmark for the first).
function legs() {
  const out = [];
  let previous = value("bm_name") || "BM";
  for (const row of body.querySelectorAll("tr.leg")) {
    const get = (name) => row.querySelector(`[name="${name}"]`).value.trim();
    const to = get("to");
    if (!to || get("bearing") === "" || get("distance") === "") continue;
    out.push({
      to, from: get("from") || previous, bearing: Number(get("bearing")),
      bearing_reference: get("bearing_reference"), bearing_unit: get("bearing_unit"),
      distance: Number(get("distance")), distance_unit: get("distance_unit"),
      pace_factor: number(get("pace_factor")),
    });
    previous = to;
  }
  return out;
}

function benchmark() {
  return { name: value("bm_name") || "BM", coordinates: value("bm_coordinates") };
}

// -- map ---------------------------------------------------------------------------------
const empty = { type: "FeatureCollection", features: [] };
const map = newMap(mapEl, { center: [47, 40], zoom: 5 });
const ready = new Promise((resolve) => map.on("load", resolve));
ready.then(() => {
  map.addSource("perimeter", { type: "geojson", data: empty });
  map.addSource("points", { type: "geojson", data: empty });
  map.addLayer({ id: "perimeter-fill", type: "fill", source: "perimeter",
                 paint: { "fill-color": "#b2182b", "fill-opacity": 0.25 } });
  map.addLayer({ id: "perimeter-line", type: "line", source: "perimeter",
                 paint: { "line-color": "#b2182b", "line-width": 2 } });
  map.addLayer({ id: "points", type: "circle", source: "points",
                 paint: { "circle-radius": 5, "circle-color": "#0b5cad",
                          "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
});

async function draw(result) {
  await ready;
  const points = (result?.points || []).filter((f) => !f.properties.closing);
  const perimeter = result?.perimeter ? [result.perimeter] : [];
  map.getSource("points").setData({ type: "FeatureCollection", features: points });
  map.getSource("perimeter").setData({ type: "FeatureCollection", features: perimeter });
  // What is drawn, for people reading the page with a screen reader and for tests.
  mapEl.dataset.points = String(points.length);
  mapEl.dataset.perimeter = perimeter.length ? "polygon" : "none";
  const coords = points.map((f) => f.geometry.coordinates);
  if (coords.length) {
    const lons = coords.map((c) => c[0]);
    const lats = coords.map((c) => c[1]);
    map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
                  { padding: 40, maxZoom: 17, animate: false });
  }
}

// -- the computation, as the user types ----------------------------------------------------
const fmt = (n, digits) => n.toLocaleString(LANG, { minimumFractionDigits: digits, maximumFractionDigits: digits });
let timer = null;
let asked = 0; // answers to older requests are dropped: the user has typed since

function show(result) {
  const c = result?.closure;
  document.getElementById("out-closure").textContent = c
    ? t("{error} m at {bearing}°", { error: fmt(c.error_m, c.error_m < 1 ? 3 : 2), bearing: fmt(c.bearing_deg, 0) }) : "–";
  document.getElementById("out-precision").textContent = c?.precision || "–";
  const area = c ? (c.adjusted ? c.adjusted_area_m2 : c.area_m2) : null;
  document.getElementById("out-area").textContent = area == null ? "–"
    : `${fmt(area, 0)} m² (${fmt(area / 10000, 2)} ha)`;
  warningsEl.replaceChildren(...(result?.warnings || []).map((w) =>
    el("li", { text: w.leg_index == null ? w.message : t("Leg {n}: {message}", { n: w.leg_index + 1, message: w.message }) })));
}

function problem(data) {
  const errors = data?.field_errors || [];
  if (errors.length) return errors.map((e) => `${e.field}: ${e.message}`).join("; ");
  if (Array.isArray(data?.detail)) return data.detail.map((d) => d.msg).join("; ");
  return data?.message || data?.detail || t("The legs could not be computed.");
}

async function compute() {
  const bm = benchmark();
  const typed = legs();
  if (!bm.coordinates || !typed.length) {
    statusEl.textContent = t("Type the benchmark and the legs.");
    show(null);
    await draw(null);
    return;
  }
  const mine = ++asked;
  statusEl.textContent = t("Computing…");
  const res = await api("POST", COMPUTE, {
    benchmark: bm, legs: typed, record_date: value("date_laid") || null,
    declination: number(value("declination")), adjust: form.elements.adjust.checked,
  });
  if (mine !== asked) return;
  if (!res.ok) {
    statusEl.textContent = problem(res.data);
    statusEl.classList.add("field-error");
    return;
  }
  statusEl.classList.remove("field-error");
  statusEl.textContent = res.data.closure
    ? t("{n} leg(s) computed; the traverse is closed.", { n: typed.length })
    : t("{n} leg(s) computed; the traverse is not closed yet.", { n: typed.length });
  show(res.data);
  await draw(res.data);
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(compute, DEBOUNCE_MS);
}

// -- saving --------------------------------------------------------------------------------
// The record as a record file (docs/minefield-records.md): JSON is YAML, so the import
// endpoint reads it as it reads a file typed by hand.
function recordFile() {
  const bm = benchmark();
  const file = {
    name: value("name"), adjust: form.elements.adjust.checked,
    points: [{ name: bm.name, role: "benchmark", coordinates: bm.coordinates }],
    legs: legs().map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== null))),
  };
  for (const key of ["date_laid", "date_recorded", "laid_by", "handed_over_by", "admin_area_pcode"]) {
    if (value(key)) file[key] = value(key);
  }
  if (value("declination") !== "") file.declination = Number(value("declination"));
  return file;
}

async function save(event) {
  event.preventDefault();
  formError.textContent = "";
  if (!value("name")) { formError.textContent = t("Give the record's name or number, as on the paper form."); return; }
  if (!legs().length) { formError.textContent = t("Type at least one leg."); return; }
  const file = recordFile();
  const upload = new FormData();
  upload.append("file", new Blob([JSON.stringify(file, null, 1)], { type: "application/yaml" }),
                `${file.name.replace(/[^\w.-]+/g, "_")}.yaml`);
  const res = await fetch(IMPORT, { method: "POST", body: upload, credentials: "same-origin",
                                    headers: { Accept: "application/json" } });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) { formError.textContent = problem(data); return; }
  const id = data?.record?.id || data?.id || data?.record_id;
  document.getElementById("saved").replaceChildren(el("p", { text: t("Saved: record {name}.", { name: file.name }) }));
  if (id) window.location.href = `/records/minefield-records/${id}`;
}

// -- start -----------------------------------------------------------------------------------
for (let i = 0; i < startLegs; i += 1) addLeg();
document.getElementById("add-leg").addEventListener("click", () => {
  const row = addLeg();
  row.querySelector('[name="to"]').focus();
});
form.addEventListener("input", schedule);
form.addEventListener("change", schedule);
form.addEventListener("submit", save);
