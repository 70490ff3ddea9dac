// The Risk layer of the map (issue 19): the cells of the risk GeoPackage the server shows
// (/api/v1/risk/cells?bbox=, blocks of cells when zoomed out), coloured by probability,
// and a panel with one cell's probability, percentile and the model's top reasons in
// plain language (/api/v1/risk/cells/{id}). The page includes this script only when a
// layer is configured and the person may see it (access/visibility.py may_see_risk).
// window.__risk tells tests what was drawn and opened.
import { api, el, num, t } from "./common.js";

const toggle = document.getElementById("risk-toggle");
const legend = document.getElementById("risk-legend");
const statusEl = document.getElementById("risk-status");
const panel = document.getElementById("risk-panel");
const body = document.getElementById("risk-body");
const container = document.getElementById("map");
// (lower bound, colour) pairs from the server (web/pages.py RISK_CLASSES, also the legend's).
const CLASSES = JSON.parse(container.dataset.riskClasses || "[]");
const FILL = ["step", ["coalesce", ["get", "probability"], 0], CLASSES[0][1],
              ...CLASSES.slice(1).flatMap(([lo, colour]) => [lo, colour])];
const EMPTY = { type: "FeatureCollection", features: [] };
const IDS = ["risk-fill", "risk-line"];
window.__risk = { shown: false, count: null, aggregated: null, opened: null, loads: 0 };

const pct = (p) => (p === null || p === undefined ? "unknown" : `${(100 * p).toFixed(p < 0.01 ? 2 : 1)} %`);

// map.js builds the map; its module runs first (scripts keep their order).
function whenMap() {
  return new Promise((resolve) => {
    const wait = () => {
      const map = window.__map;
      if (!map) { setTimeout(wait, 20); return; }
      if (map.isStyleLoaded()) resolve(map);
      else map.once("style.load", () => resolve(map));
    };
    wait();
  });
}

let added = false;
function addLayers(map) {
  if (added) return;
  added = true;
  map.addSource("risk", { type: "geojson", data: EMPTY });
  // Under every record layer: hazards and accidents stay on top of the estimate.
  const before = map.getLayer("admin-areas-line") ? "admin-areas-line" : undefined;
  map.addLayer({ id: "risk-fill", type: "fill", source: "risk",
                 paint: { "fill-color": FILL, "fill-opacity": 0.6 } }, before);
  map.addLayer({ id: "risk-line", type: "line", source: "risk",
                 paint: { "line-color": ["case", ["boolean", ["get", "aggregated"], false], "#666", "#fff"],
                          "line-width": 0.5, "line-opacity": 0.6 } }, before);
  map.on("click", "risk-fill", (e) => {
    const f = e.features[0];
    if (f.properties.aggregated) {
      // A block: zoom in towards its cells.
      map.easeTo({ center: e.lngLat, zoom: map.getZoom() + 2, duration: 300 });
      return;
    }
    explain(f.properties.cell_id);
  });
  map.on("mouseenter", "risk-fill", () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", "risk-fill", () => { map.getCanvas().style.cursor = ""; });
  map.on("moveend", () => { if (toggle.checked) load(map); });
}

let seq = 0;
async function load(map) {
  const mine = ++seq;
  const b = map.getBounds();
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const bbox = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
                clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)]
    .map((v) => v.toFixed(5)).join(",");
  statusEl.textContent = t("Loading the risk cells…");
  const res = await api("GET", `/api/v1/risk/cells?bbox=${bbox}`);
  if (mine !== seq) return;
  if (!res.ok) {
    statusEl.textContent = t("The risk layer cannot be shown: {message}", { message: (res.data && res.data.message) || res.status });
    map.getSource("risk").setData(EMPTY);
    return;
  }
  map.getSource("risk").setData(res.data);
  window.__risk.count = res.data.count;
  window.__risk.aggregated = res.data.aggregated;
  window.__risk.loads += 1;
  statusEl.textContent = res.data.aggregated
    ? t("{n} cells here, shown as blocks: zoom in to see them.", { n: num(res.data.count) })
    : t("{n} risk cells shown.", { n: num(res.data.count) });
}

function reasonItem(r, largest) {
  const width = largest > 0 ? Math.max(4, Math.round((100 * Math.abs(r.contribution)) / largest)) : 0;
  const sign = r.contribution > 0 ? "+" : "−";
  return el("li", { class: `reason ${r.direction}` },
    el("div", { class: "reason-head" },
      el("span", { class: "reason-sign", "aria-hidden": "true", text: sign }),
      el("span", { class: "reason-dir", text: r.direction === "raises" ? t("Raises the risk") : t("Lowers the risk") }),
      el("span", { class: "reason-value small", text: `${sign}${Math.abs(r.contribution).toFixed(2)}` })),
    el("div", { class: "reason-bar", role: "img",
                "aria-label": `${r.direction} by ${Math.abs(r.contribution).toFixed(2)} log-odds` },
      el("span", { style: `width:${width}%` })),
    el("p", { class: "reason-meaning", text: r.meaning }),
    el("code", { class: "small", text: r.feature }));
}

async function explain(cellId) {
  panel.hidden = false;
  body.replaceChildren(el("p", { class: "small", text: t("Loading…") }));
  const res = await api("GET", `/api/v1/risk/cells/${encodeURIComponent(cellId)}`);
  if (!res.ok) {
    body.replaceChildren(el("p", { class: "error", text: (res.data && res.data.message) || `error ${res.status}` }));
    return;
  }
  const c = res.data;
  const largest = Math.max(0, ...c.reasons.map((r) => Math.abs(r.contribution)));
  const list = el("ol", { class: "reasons" });
  for (const r of c.reasons) list.append(reasonItem(r, largest));
  body.replaceChildren(
    el("dl", { class: "facts" },
      el("dt", { text: t("Probability") }),
      el("dd", { class: "risk-probability", text: `${pct(c.probability)} within ${c.horizon_years ?? "?"} years` }),
      el("dt", { text: t("Percentile") }),
      el("dd", { class: "risk-percentile",
                 text: c.percentile === null ? t("unknown") : t("{p} (scores higher than {q} % of the grid's cells)", { p: c.percentile.toFixed(1), q: c.percentile.toFixed(0) }) }),
      el("dt", { text: t("Cell") }),
      el("dd", { text: `${c.cell_id} (${c.lat?.toFixed(4)}, ${c.lon?.toFixed(4)})` })),
    el("h3", { text: t("Why: the model's top reasons") }),
    c.reasons.length ? list : el("p", { class: "small", text: t("The file gives no reasons for this cell.") }),
    el("p", { class: "caveat small", text: c.caveat }));
  window.__risk.opened = c.cell_id;
  panel.querySelector("h2").focus?.();
}

document.getElementById("risk-close").addEventListener("click", () => {
  panel.hidden = true;
  window.__risk.opened = null;
  toggle.focus();
});

toggle.addEventListener("change", async () => {
  const map = await whenMap();
  addLayers(map);
  const on = toggle.checked;
  legend.hidden = !on;
  for (const id of IDS) map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
  window.__risk.shown = on;
  if (on) await load(map);
  else { panel.hidden = true; statusEl.textContent = ""; }
});
