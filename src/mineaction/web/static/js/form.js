// Data entry: the form is sent as JSON to /api/v1 (POST to create, PATCH with If-Match to
// change); the API's field errors are shown next to their fields; a stale version (412)
// shows the newer values beside the ones typed.
import { LANG, api, el, t } from "./common.js";
import { newMap } from "./basemap.js";
import { Drawer } from "./draw.js";
import { GpsControl } from "./gps.js";
import { attachPicklists } from "./picklist.js";
import { attachVictims } from "./victims_entry.js";
import { attachOutbox, keep as keepOffline, registerFormWorker } from "./offline.js";

const form = document.getElementById("record-form");
const record = JSON.parse(document.getElementById("record-data").textContent || "{}");
const formError = document.getElementById("form-error");
const conflictBox = document.getElementById("conflict");
let version = form.dataset.version;
let geometry = record.geometry || null;
let originalCoordinates = record.original_coordinates || null;
let drawer = null;
attachPicklists(form);
const victimsSection = document.getElementById("victims-entry");
const victimsEntry = victimsSection ? attachVictims(victimsSection) : null;
// Drafts kept offline (issue 21, 3): the outbox of forms saved without a network.
const savedOffline = el("p", { id: "saved-offline", class: "notice", role: "status", hidden: true });
document.getElementById("form-error").after(savedOffline);
attachOutbox(savedOffline);
registerFormWorker();

function fieldValues() {
  const body = {};
  for (const input of form.querySelectorAll("[data-widget]")) {
    const name = input.name;
    const raw = input.value.trim();
    let v;
    switch (input.dataset.widget) {
      case "integer": v = raw === "" ? null : parseInt(raw, 10); break;
      case "number": v = raw === "" ? null : parseFloat(raw); break;
      case "list": v = raw === "" ? [] : raw.split(",").map((s) => s.trim()).filter(Boolean); break;
      default: v = raw === "" ? null : raw;
    }
    body[name] = v;
  }
  const groups = {};
  for (const box of form.querySelectorAll('.checks input[type="checkbox"]')) {
    groups[box.name] = groups[box.name] || [];
    if (box.checked) groups[box.name].push(box.value);
  }
  Object.assign(body, groups);
  if (form.querySelector(".geometry")) {
    body.geometry = geometry;
    if ("original_coordinates" in record || geometry?.type === "Point") body.original_coordinates = geometry?.type === "Point" ? originalCoordinates : null;
  }
  return body;
}

function clearErrors() {
  formError.textContent = "";
  for (const e of form.querySelectorAll(".field-error")) e.textContent = "";
  for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  victimsEntry?.clearErrors();
}

function showErrors(data) {
  const general = [];
  let first = null;
  for (const fe of (data && data.field_errors) || []) {
    if (fe.field.startsWith("victims") && victimsEntry?.mark(fe)) { first = first || victimsEntry.firstInvalid(); continue; }
    const name = fe.field.split(".")[0];
    const slot = document.getElementById(`err-${name}`);
    if (slot) {
      slot.textContent = fe.message;
      const input = form.querySelector(`[name="${name}"]`);
      if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
    } else {
      general.push(fe.message);
    }
  }
  formError.textContent = [data?.message, ...general].filter(Boolean).join(" — ");
  (first || formError).focus?.();
}

function showConflict(body, current) {
  conflictBox.hidden = false;
  conflictBox.replaceChildren();
  conflictBox.append(el("h2", { text: t("Someone else saved a newer version ({version}) while you were editing.", { version: current.version }) }));
  conflictBox.append(el("p", { text: t("Your changes are not saved. The newer values differ from yours here:") }));
  const table = el("table", { id: "conflict-table" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: t("Field") }), el("th", { scope: "col", text: t("Your value") }), el("th", { scope: "col", text: t("Newer value") }))));
  const tbody = el("tbody");
  const show = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v).slice(0, 80) : String(v));
  for (const [k, mine] of Object.entries(body)) {
    const theirs = current[k];
    if (JSON.stringify(mine ?? null) !== JSON.stringify(theirs ?? null) && !(Array.isArray(mine) && !mine.length && theirs == null)) {
      tbody.append(el("tr", { "data-field": k }, el("td", { text: k.replaceAll("_", " ") }), el("td", { text: show(mine) }), el("td", { class: "theirs", text: show(theirs) })));
    }
  }
  table.append(tbody);
  conflictBox.append(table);
  conflictBox.append(el("div", { class: "actions" },
    el("a", { class: "button", href: window.location.pathname, text: t("Discard mine and load the newer version") }),
    el("button", { type: "button", class: "danger", text: t("Save mine over the newer version"), onclick: () => { version = String(current.version); conflictBox.hidden = true; save(); } })));
  conflictBox.scrollIntoView();
}

// A location the server doubts (outside the country or the area the store covers, a
// likely sign error) is saved only once the user confirms it.
let locationConfirmed = false;
const placeWarning = el("div", { class: "warning", role: "alert", id: "place-warning", hidden: true });
formError.after(placeWarning);

// A point's accuracy (location_accuracy_m, issue 21) belongs to that point: kept while
// the point stays where it was fixed (or loaded, or typed beside), cleared when it moves.
// `input` is the form's accuracy field (null for kinds without one).
function keepAccuracy(input, initial) {
  let at = initial && initial.type === "Point" ? initial.coordinates : null;
  const same = (a, b) => a && b && Math.abs(a[0] - b[0]) < 1e-6 && Math.abs(a[1] - b[1]) < 1e-6;
  input?.addEventListener("input", () => { at = geometry && geometry.type === "Point" ? geometry.coordinates : null; });
  return {
    fix(point, metres) { if (input) { input.value = String(metres); at = point; } },
    moved(g) {
      if (!input || !input.value) return;
      if (!(g && g.type === "Point" && same(g.coordinates, at))) { input.value = ""; at = null; }
    },
  };
}

function samplePoint(g) {
  if (!g) return null;
  if (g.type === "Point") return g.coordinates;
  const ring = g.type === "Polygon" ? g.coordinates[0] : g.type === "MultiPolygon" ? g.coordinates[0][0] : null;
  if (!ring || !ring.length) return null;
  const n = ring.length;
  return [ring.reduce((s, c) => s + c[0], 0) / n, ring.reduce((s, c) => s + c[1], 0) / n];
}

async function locationDoubted() {
  const point = samplePoint(geometry);
  if (!point || locationConfirmed) return false;
  const res = await fetch(`/web/api/place-check?lon=${point[0]}&lat=${point[1]}`).then((r) => r.json()).catch(() => null);
  if (!res || !res.warnings || !res.warnings.length) return false;
  placeWarning.replaceChildren(
    el("p", { text: t("Check the location before saving:") }),
    el("ul", {}, ...res.warnings.map((w) => el("li", { text: w }))),
    el("button", { type: "button", text: t("The location is right: save"), onclick: () => { locationConfirmed = true; placeWarning.hidden = true; save(); } }));
  placeWarning.hidden = false;
  placeWarning.scrollIntoView();
  return true;
}

async function save() {
  clearErrors();
  if (!form.dataset.id && form.dataset.collection === "hazards" && form.querySelector(".geometry") && !geometry) {
    formError.textContent = t("A hazard needs a location: draw it on the map or type its coordinates.");
    formError.scrollIntoView();
    return;
  }
  if (await locationDoubted()) return;
  const body = fieldValues();
  const collection = form.dataset.collection;
  let request;
  if (form.dataset.id) {
    request = { method: "PATCH", url: `/api/v1/${collection}/${form.dataset.id}`, body, headers: { "If-Match": `"${version}"` } };
  } else {
    for (const k of Object.keys(body)) if (body[k] === null || (Array.isArray(body[k]) && !body[k].length)) delete body[k];
    // A new accident with victims typed in: saved together, or none of them (issue 21, 3).
    const victims = victimsEntry ? victimsEntry.values() : [];
    request = victims.length
      ? { method: "POST", url: "/web/api/accident-entry", body: { accident: body, victims }, headers: {} }
      : { method: "POST", url: `/api/v1/${collection}`, body, headers: {} };
  }
  let res;
  try {
    if (!navigator.onLine) throw new TypeError("offline");
    res = await api(request.method, request.url, request.body, request.headers);
  } catch {
    // No network: kept in this browser and sent when it is back (static/js/offline.js).
    const title = document.querySelector("h1").textContent.trim();
    await keepOffline({ ...request, collection, recordId: form.dataset.id || null, label: title });
    formError.textContent = "";
    savedOffline.textContent = t("No network: your form is kept on this device and will be sent when the network is back.");
    savedOffline.hidden = false;
    savedOffline.scrollIntoView();
    return;
  }
  if (res.ok) {
    window.location.href = `/records/${collection}/${res.data.id}`;
  } else if (res.status === 412 && res.data && res.data.current) {
    showConflict(body, res.data.current);
  } else {
    showErrors(res.data || { message: t("Saving failed ({status}).", { status: res.status }) });
  }
}

form.addEventListener("submit", (ev) => { ev.preventDefault(); save(); });

// -- geometry ----------------------------------------------------------------------------
const mapEl = document.getElementById("draw-map");
if (mapEl) {
  const areaEl = document.getElementById("area");
  const coordInput = document.getElementById("coord-input");
  const coordResult = document.getElementById("coord-result");
  const help = document.getElementById("draw-help");
  const finishBtn = document.getElementById("draw-finish");
  const undoBtn = document.getElementById("draw-undo");
  const deleteCornerBtn = document.getElementById("draw-delete-corner");
  const map = newMap(mapEl);
  window.__drawMap = map;
  const accuracyKeeper = keepAccuracy(form.querySelector('[name="location_accuracy_m"]'), geometry);
  map.addControl(new maplibregl.NavigationControl(), "top-right");

  async function onChange(g, d) {
    geometry = g;
    accuracyKeeper.moved(g);
    if (finishBtn) finishBtn.disabled = !(d.mode === "polygon" && d.vertices.length >= 3);
    if (undoBtn) undoBtn.disabled = !(d.mode === "polygon" && d.vertices.length > 0);
    if (d.mode === "polygon") help.textContent = `${d.vertices.length} corner(s). Click to add more; Finish when done.`;
    if (g && g.type === "Polygon") {
      const res = await api("POST", "/web/api/area", { geometry: g }).catch(() => null);
      if (!res) { areaEl.textContent = t("The area is computed by the server: not available offline."); return; }
      areaEl.textContent = res.data.ok
        ? t("Area: {m2} m² ({ha} ha)", { m2: res.data.area_m2.toLocaleString(LANG), ha: res.data.area_ha.toLocaleString(LANG) })
        : res.data.message;
      areaEl.dataset.m2 = res.data.ok ? res.data.area_m2 : "";
    } else {
      areaEl.textContent = g && g.type === "Point" ? t("Point: {dd}", { dd: `${g.coordinates[1].toFixed(6)}, ${g.coordinates[0].toFixed(6)}` }) : "";
    }
  }

  map.on("load", () => {
    drawer = new Drawer(map, onChange);
    window.__drawer = drawer;
    // A selected corner may be deleted (issue 21, 3): the button says whether one is.
    if (deleteCornerBtn) {
      drawer.onSelect = (i) => {
        deleteCornerBtn.disabled = i === null || drawer.vertices.length <= 3;
        if (i !== null) help.textContent = t("Corner {n} selected: drag it, or Delete corner.", { n: i + 1 });
      };
    }
    if (geometry) {
      drawer.setGeometry(geometry);
      onChange(geometry, drawer);
      const b = new maplibregl.LngLatBounds();
      const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
      walk(geometry.coordinates);
      map.fitBounds(b, { padding: 40, duration: 0, maxZoom: 14 });
    }
    mapEl.dataset.ready = "true";
  });

  document.getElementById("draw-polygon")?.addEventListener("click", () => { drawer.startPolygon(); mapEl.focus(); });
  finishBtn?.addEventListener("click", () => drawer.finish());
  undoBtn?.addEventListener("click", () => drawer.undo());
  document.getElementById("draw-point")?.addEventListener("click", () => { drawer.startPoint(); help.textContent = t("Click the map where the point is."); });
  document.getElementById("draw-clear").addEventListener("click", () => drawer.clear());
  deleteCornerBtn?.addEventListener("click", () => drawer.deleteSelected());
  // A location typed before the map has loaded (a slow tablet) is the record's all the
  // same: kept now, drawn by the map's "load" handler above.
  const keepUntilTheMapLoads = (g) => onChange(g, { mode: null, vertices: [] });

  // A polygon from typed corners (issue 21, 3): each line read by the server, as the
  // coordinate box is; a line it cannot read is named and nothing is drawn.
  document.getElementById("corners-draw")?.addEventListener("click", async () => {
    const out = document.getElementById("corners-result");
    const lines = document.getElementById("corners-input").value.split("\n")
      .map((text, i) => ({ text: text.trim(), line: i + 1 })).filter((l) => l.text);
    out.replaceChildren();
    const read = await Promise.all(lines.map((l) => fetch(`/web/api/coordinates?text=${encodeURIComponent(l.text)}`)
      .then((r) => r.json()).catch(() => ({ ok: false, message: "the server did not answer" }))));
    const bad = read.map((r, i) => (r.ok ? null : `line ${lines[i].line}: ${r.message}`)).filter(Boolean);
    if (!bad.length && read.length < 3) bad.push(`a polygon needs at least 3 corners, ${read.length} given`);
    if (bad.length) {
      out.append(el("ul", { class: "field-error", role: "alert" }, ...bad.map((m) => el("li", { text: m }))));
      return;
    }
    const ring = read.map((r) => [r.lon, r.lat]);
    const [first, last] = [ring[0], ring[ring.length - 1]];
    if (ring.length > 3 && first[0] === last[0] && first[1] === last[1]) ring.pop(); // typed closed
    const polygon = { type: "Polygon", coordinates: [ring.concat([ring[0]])] };
    if (drawer) {
      drawer.setGeometry(polygon);
      drawer.changed();
    } else {
      keepUntilTheMapLoads(polygon);
    }
    out.append(el("p", { text: `${ring.length} corners drawn.` }));
    const b = new maplibregl.LngLatBounds();
    ring.forEach((c) => b.extend(c));
    map.fitBounds(b, { padding: 40, duration: 0, maxZoom: 16 });
  });

  async function readCoordinate() {
    const text = coordInput.value.trim();
    coordResult.replaceChildren();
    if (!text) return;
    const res = await fetch(`/web/api/coordinates?text=${encodeURIComponent(text)}`).then((r) => r.json())
      .catch(() => ({ ok: false, message: t("Coordinates are read by the server: not available offline. Place the point on the map instead.") }));
    if (!res.ok) {
      coordResult.append(el("span", { class: "field-error", text: res.message }));
      return;
    }
    originalCoordinates = res.original;
    for (const [label, v] of [[t("Read as"), res.system.toUpperCase()], ["DD", res.dd], ["DMS", res.dms], ["UTM", res.utm], ["MGRS", res.mgrs]]) {
      coordResult.append(el("span", { text: label }), el("span", { text: v || "—" }));
    }
    if (!drawer) {
      keepUntilTheMapLoads({ type: "Point", coordinates: [res.lon, res.lat] });
      return;
    }
    drawer.setPoint([res.lon, res.lat]);
    map.jumpTo({ center: [res.lon, res.lat], zoom: Math.max(map.getZoom(), 11) });
  }
  document.getElementById("coord-read")?.addEventListener("click", readCoordinate);
  // GPS (issue 21): a form that takes a point takes the device's position, typed into
  // the coordinate box so it is read and kept as original_coordinates like typed text.
  // The accuracy is shown beside the button and kept in location_accuracy_m, for as long
  // as the point is the fix's (accuracyKeeper clears it when the point moves).
  if (document.getElementById("draw-point") && coordInput) {
    map.addControl(new GpsControl((lon, lat, accuracy) => {
      accuracyKeeper.fix([lon, lat], Math.round(accuracy));
      coordInput.value = `${lat.toFixed(6)}, ${lon.toFixed(6)}`;
      readCoordinate().then(() => {
        coordResult.append(el("span", { text: t("GPS accuracy") }), el("span", { class: "gps-accuracy", text: `±${Math.round(accuracy)} m` }));
      });
    }), "top-right");
  }
  coordInput?.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); readCoordinate(); } });
}
