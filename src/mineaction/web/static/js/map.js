// The map page: layers from /web/api/layers/<layer> (accidents as vector tiles the server
// clusters: /web/api/layers/accidents/summary names them), filters, popups.
// window.__mapState tells tests and bench/web_bench.py when the map is drawn and how long
// each step took (phases, in ms since navigation start).
import { el, num, t } from "./common.js";

// The layers' names in the status line, in the page's language (issue 22).
const LAYER_WORDS = { hazards: t("hazards"), "released-parts": t("released parts"), "land-release": t("land release"),
  accidents: t("accidents"), finds: t("finds"), "risk-education": t("risk education") };
import { newMap } from "./basemap.js";
import { GpsControl } from "./gps.js";
import { attachPlaceSearch } from "./place_search.js";
import { attachFeatureList } from "./features_list.js";

const container = document.getElementById("map");
const statusEl = document.getElementById("map-status");
const form = document.getElementById("filters");
const map = newMap(container);
window.__map = map;
window.__mapState = { ready: false, counts: {}, firstRenderMs: null, phases: {} };
const mark = (name) => { if (!(name in window.__mapState.phases)) window.__mapState.phases[name] = Math.round(performance.now()); };
mark("script");
map.addControl(new maplibregl.NavigationControl(), "top-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
map.addControl(new GpsControl(), "top-right");
attachPlaceSearch(map, document.getElementById("place-search"));

const POINT_STYLE = {
  finds: "#7b3294",
  "risk-education": "#008080",
};
const HAZARD_FILL = ["match", ["get", "hazard_kind"], "CHA", "#b2182b", "#e66101"];
const OPEN = ["match", ["get", "hazard_status"], ["closed", "handed_over"], false, true];
const RELEASE = ["match", ["get", "method"], "cancelled", "#4dac26", "reduced", "#2c7bb6", "#1a9641"];
const EMPTY = { type: "FeatureCollection", features: [] };

function query() {
  const data = new FormData(form);
  const params = new URLSearchParams();
  for (const key of ["date_from", "date_to", "admin_area", "status", "device", "role"]) {
    const v = (data.get(key) || "").toString().trim();
    if (v) params.set(key, v);
  }
  return params;
}

function visibleLayers() {
  return [...form.querySelectorAll('input[name="layer"]:checked')].map((i) => i.value);
}

// Columns (as the server sends point layers) into GeoJSON features.
function pointsToGeoJSON(cols) {
  const n = cols.fid.length;
  const coded = Object.entries(cols.coded);
  const features = new Array(n);
  for (let i = 0; i < n; i++) {
    const props = { fid: cols.fid[i], layer: cols.layer, collection: cols.collection };
    for (const [k, c] of coded) props[k] = c.values[c.codes[i]];
    if (cols.killed) { props.killed = cols.killed[i]; props.injured = cols.injured[i]; }
    // The public's layer has no casualties per accident (only statistics have them).
    if (cols.layer === "accidents" && cols.killed) props.casualties = (cols.killed[i] || 0) + (cols.injured[i] || 0);
    features[i] = { type: "Feature", geometry: { type: "Point", coordinates: [cols.lon[i], cols.lat[i]] }, properties: props };
  }
  return { type: "FeatureCollection", features };
}

function addLayers() {
  for (const id of ["admin-areas", "hazards", "land-release", "finds", "risk-education"]) {
    map.addSource(id, { type: "geojson", data: EMPTY });
  }
  map.addLayer({ id: "admin-areas-line", type: "line", source: "admin-areas",
                 paint: { "line-color": "#555", "line-width": 1, "line-dasharray": [2, 2] } });
  map.addLayer({ id: "hazards-fill", type: "fill", source: "hazards",
                 paint: { "fill-color": HAZARD_FILL, "fill-opacity": ["case", OPEN, 0.55, 0.08] } });
  map.addLayer({ id: "hazards-line", type: "line", source: "hazards",
                 paint: { "line-color": HAZARD_FILL, "line-width": 2 } });
  map.addLayer({ id: "hazards-point", type: "circle", source: "hazards", filter: ["==", ["geometry-type"], "Point"],
                 paint: { "circle-color": HAZARD_FILL, "circle-radius": 6, "circle-stroke-color": "#fff", "circle-stroke-width": 1 } });
  map.addLayer({ id: "land-release-fill", type: "fill", source: "land-release",
                 paint: { "fill-color": RELEASE, "fill-opacity": 0.6 } });
  map.addLayer({ id: "land-release-line", type: "line", source: "land-release",
                 paint: { "line-color": RELEASE, "line-width": 1.5 } });
  for (const [id, colour] of Object.entries(POINT_STYLE)) {
    map.addLayer({ id: `${id}-circle`, type: "circle", source: id,
                   paint: { "circle-color": colour, "circle-radius": 5, "circle-stroke-color": "#fff", "circle-stroke-width": 1 } });
  }
}

// Accidents come as vector tiles the server clusters (web/tiles.py): the source is added
// when the first summary names its tile URL.
function addTiledAccidents(summary) {
  map.addSource("accidents", { type: "vector", tiles: [location.origin + summary.tiles], maxzoom: summary.maxzoom });
  map.addLayer({ id: "accidents-clusters", type: "circle", source: "accidents", "source-layer": "accidents", filter: ["has", "point_count"],
                 paint: { "circle-color": "rgba(178,24,43,0.75)", "circle-stroke-color": "#fff", "circle-stroke-width": 2,
                          // web/tiles.py keeps each cluster inside its cell by these radii.
                          "circle-radius": ["step", ["get", "point_count"], 12, 50, 16, 500, 21, 5000, 27] } });
  map.addLayer({ id: "accidents-points", type: "circle", source: "accidents", "source-layer": "accidents", filter: ["!", ["has", "point_count"]],
                 // The public's points carry no casualties: one size, one colour.
                 paint: { "circle-color": ["case", [">", ["coalesce", ["get", "killed"], 0], 0], "#67000d", "#f4a582"],
                          "circle-radius": ["interpolate", ["linear"], ["coalesce", ["get", "casualties"], 0], 0, 4, 1, 5, 5, 9, 20, 14],
                          "circle-stroke-color": "#fff", "circle-stroke-width": 1 } });
}

const LAYER_IDS = {
  hazards: ["hazards-fill", "hazards-line", "hazards-point"],
  "land-release": ["land-release-fill", "land-release-line"],
  accidents: ["accidents-clusters", "accidents-points"],
  finds: ["finds-circle"],
  "risk-education": ["risk-education-circle"],
  "admin-areas": ["admin-areas-line"],
};

// Cluster counts as HTML labels. (A symbol layer, now that the basemap has glyphs, cost
// the browser more per move than these: issue 21.)
const clusterLabels = new Map();
function updateClusterLabels() {
  const shown = new Set();
  if (map.getLayer("accidents-clusters") && map.getLayoutProperty("accidents-clusters", "visibility") !== "none") {
    for (const f of map.queryRenderedFeatures({ layers: ["accidents-clusters"] })) {
      const id = f.properties.cid;
      if (shown.has(id)) continue;
      shown.add(id);
      const [lng, lat] = f.geometry.coordinates;
      let marker = clusterLabels.get(id);
      if (!marker) {
        const label = el("div", { class: "cluster-label", "aria-hidden": "true" });
        marker = new maplibregl.Marker({ element: label }).setLngLat([lng, lat]).addTo(map);
        clusterLabels.set(id, marker);
      } else {
        // Marker.addTo takes the element out of the page and puts it back: only new
        // labels are added, and a kept one moves only if its cluster did (issue 21).
        const at = marker.getLngLat();
        if (at.lng !== lng || at.lat !== lat) marker.setLngLat([lng, lat]);
      }
      // A cell keeps its id when filters change what it holds: the count is checked each time.
      const n = f.properties.point_count;
      const text = n >= 1000 ? `${Math.round(n / 100) / 10}k` : String(n);
      const label = marker.getElement();
      if (label.textContent !== text) label.textContent = text;
    }
  }
  for (const [id, marker] of clusterLabels) {
    if (!shown.has(id)) { marker.remove(); clusterLabels.delete(id); }
  }
}

const TILED = new Set(["accidents"]);

// Every visible layer's data (a summary for tiled layers), asked for at once.
function fetchLayers() {
  const params = query();
  return Promise.all(visibleLayers().map(async (layer) => {
    // No "?" without filters: the URL must be the one map.html preloads.
    const url = `/web/api/layers/${layer}${TILED.has(layer) ? "/summary" : ""}${params.size ? `?${params}` : ""}`;
    const res = await fetch(url, { credentials: "same-origin" });
    if (!res.ok) return [layer, null];
    const body = await res.json();
    mark(`${layer}-fetched`);
    return [layer, body];
  }));
}

// The GeoJSON layers with nothing to draw (every one until its data comes). They are
// hidden, not only empty: a shown layer's source is cut into tiles in the worker at each
// zoom of a move, nothing or not, and each tile it hands back asks for a frame of its
// own, which cost an empty hazards and land-release layer a quarter of each move's
// time (issue 21). The user sees the same map.
const emptyLayers = new Set(Object.keys(LAYER_IDS).filter((l) => !TILED.has(l)));

function setVisibility(layers) {
  for (const [layer, ids] of Object.entries(LAYER_IDS)) {
    const shown = layers.includes(layer) && !emptyLayers.has(layer);
    for (const id of ids) {
      if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", shown ? "visible" : "none");
    }
  }
}

function applyTiled(layer, body) {
  const src = map.getSource(layer);
  const url = location.origin + body.tiles;
  if (!src) addTiledAccidents(body);
  else if (src.tiles[0] !== url) src.setTiles([url]);
}

// The style (not the whole first frame: "load" waits for the basemap's tiles) is enough
// to add our sources, so the accidents' tiles load beside the basemap's, not after them.
const mapLoaded = new Promise((resolve) => map.once("style.load", resolve));
let fitted = false;
let loadSeq = 0;
// Where the map opens: the server's start extent (the configured country, the admin
// areas, or the approved records without outliers: services/maps.py), fetched with the
// layers; the layers' own bounds only when it has none.
const startExtent = fetch("/web/api/extent", { credentials: "same-origin" })
  .then((r) => (r.ok ? r.json() : null)).then((b) => b && b.bbox).catch(() => null);
// The first fetch starts with the script, not after the map's style has loaded: the two
// overlap, which saves a second of the first render.
// fitResults: after "Apply filters", the map flies to the extent of what they found.
async function load(fetched = fetchLayers(), fitResults = false) {
  const seq = ++loadSeq;
  const layers = visibleLayers();
  statusEl.textContent = t("Loading…");
  await mapLoaded;
  setVisibility(layers);  // an unchecked layer goes at once, not when the others load
  const results = await fetched;
  if (seq !== loadSeq) return;
  const bounds = new maplibregl.LngLatBounds();
  const parts = [];
  for (const [layer, body] of results) {
    if (!body) continue;
    let count;
    if (TILED.has(layer)) {
      applyTiled(layer, body);
      count = body.count;
      if (body.bounds) bounds.extend(body.bounds);
    } else {
      const gj = body.type === "FeatureCollection" ? body : pointsToGeoJSON(body);
      map.getSource(layer).setData(gj);
      count = gj.features.length;
      if (count) emptyLayers.delete(layer); else emptyLayers.add(layer);
      if (layer !== "admin-areas") {
        if (body.lon) {
          for (let i = 0; i < body.lon.length; i += Math.max(1, Math.floor(body.lon.length / 2000))) bounds.extend([body.lon[i], body.lat[i]]);
        } else {
          for (const f of gj.features) extendBounds(bounds, f.geometry);
        }
      }
    }
    window.__mapState.counts[layer] = count;
    if (layer !== "admin-areas") parts.push(`${num(count)} ${LAYER_WORDS[layer] || layer.replace("-", " ")}`);
  }
  setVisibility(layers);  // again, for a tiled layer whose layers were just added
  mark("applied");
  statusEl.textContent = parts.length ? t("Showing {layers}.", { layers: parts.join(", ") }) : t("No layer selected.");
  const start = fitted ? null : await startExtent;
  if (fitted && fitResults && !bounds.isEmpty()) {
    map.fitBounds(bounds, { padding: 40, maxZoom: 14, duration: 600 });
  } else if (!fitted && start) {
    fitted = true;
    map.fitBounds([[start[0], start[1]], [start[2], start[3]]], { padding: 40, maxZoom: 12, duration: 0 });
  } else if (!fitted && !bounds.isEmpty()) {
    fitted = true;
    map.fitBounds(bounds, { padding: 40, maxZoom: 12, duration: 0 });
  }
  map.once("idle", () => {
    mark("idle");
    // From navigation start (performance's time origin), so the page's own load counts.
    if (window.__mapState.firstRenderMs === null) window.__mapState.firstRenderMs = Math.round(performance.now());
    window.__mapState.ready = true;
    container.dataset.ready = "true";
    updateClusterLabels();
  });
}

function extendBounds(bounds, geom) {
  if (!geom) return;
  const walk = (c) => (typeof c[0] === "number" ? bounds.extend(c) : c.forEach(walk));
  walk(geom.coordinates);
}

// Tiled features carry no layer or collection: they are the source's.
const COLLECTIONS = { accidents: "accidents", finds: "finds", "risk-education": "risk-education" };

function popupFor(f) {
  const p = { layer: f.source, collection: COLLECTIONS[f.source], ...f.properties };
  const box = el("div", { class: "popup" });
  const title = {
    accidents: t("Accident {date}", { date: p.date || "" }),
    hazards: `${p.hazard_kind} ${p.name || ""}`,
    "released-parts": t("Land release: {method}", { method: t((p.method || "").replaceAll("_", " ")) }),
    finds: t("Find: {device}", { device: `${t((p.device_category || "").replaceAll("_", " "))} ${p.device_model || ""}` }),
    "risk-education": t("Risk education {date}", { date: p.date || "" }),
    "admin-areas": `${p.name} (${p.pcode})`,
  }[p.collection] || p.collection;
  box.append(el("strong", { text: title }));
  const facts = [];
  if (p.collection === "accidents") {
    if (p.killed !== undefined) facts.push(t("{killed} killed, {injured} injured", { killed: p.killed || 0, injured: p.injured || 0 }));
    facts.push(t((p.device_category || "").replaceAll("_", " ")));
  }
  if (p.collection === "hazards") facts.push(t("status {status}", { status: t((p.hazard_status || "").replaceAll("_", " ")) }), p.area_m2 ? `${Math.round(p.area_m2).toLocaleString()} m² (${(p.area_m2 / 10000).toFixed(2)} ha)` : "");
  if (p.collection === "released-parts" && p.area_m2) facts.push(`${Math.round(p.area_m2).toLocaleString()} m²`);
  if (p.status && p.status !== "approved") facts.push(t("workflow: {status}", { status: t(p.status) }));
  box.append(el("div", { text: facts.filter(Boolean).join(" · ") }));
  if (p.collection !== "admin-areas") {
    const href = p.id ? `/records/${p.collection}/${p.id}` : `/web/go/${p.layer}/${p.fid}`;
    box.append(el("a", { href, text: t("Open record") }));
  }
  return box;
}

const CLICKABLE = ["hazards-fill", "hazards-point", "land-release-fill", "accidents-points", "finds-circle", "risk-education-circle"];

const firstFetch = fetchLayers();
attachFeatureList(map, document.getElementById("features-in-view"), CLICKABLE, popupFor);
map.once("style.load", () => {
  mark("style");
  addLayers();
  load(firstFetch);
  // After the tiles of a move have come, not at its end: a fresh cluster needs its tile.
  map.on("idle", updateClusterLabels);
  // A cluster is a cell of the server's grid: two zooms in, it has split in sixteen.
  map.on("click", "accidents-clusters", (e) => {
    const f = e.features[0];
    map.easeTo({ center: f.geometry.coordinates, zoom: Math.min(map.getZoom() + 2, 13), duration: 300 });
  });
  map.on("click", (e) => {
    const hits = map.queryRenderedFeatures(e.point, { layers: CLICKABLE.filter((l) => map.getLayer(l)) });
    if (!hits.length) return;
    new maplibregl.Popup({ maxWidth: "320px" }).setLngLat(e.lngLat).setDOMContent(popupFor(hits[0])).addTo(map);
  });
  for (const id of [...CLICKABLE, "accidents-clusters"]) {
    map.on("mouseenter", id, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", id, () => { map.getCanvas().style.cursor = ""; });
  }
});

form.addEventListener("submit", (ev) => { ev.preventDefault(); load(fetchLayers(), true); });
// load() takes the fetch to wait for, so no event may be handed to it.
form.addEventListener("reset", () => setTimeout(() => load(), 0));
form.querySelectorAll('input[name="layer"]').forEach((i) => i.addEventListener("change", () => load()));
