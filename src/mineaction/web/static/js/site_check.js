// The public site check page (web/site_check.py): draw a point, a line or an area (or type
// a coordinate), check it, read the findings with the records used highlighted, and
// download a certificate (POST /api/v1/site-check/certificates, then its PDF).
import { api, el, t } from "./common.js";
import { newMap } from "./basemap.js";
import { Drawer } from "./draw.js";

// draw.js draws points and polygons (the data-entry forms' needs); a site may also be a
// line (a road, a pipeline): clicked corners, Finish or double-click to end.
class SiteDrawer extends Drawer {
  constructor(map, onChange) {
    super(map, onChange);
    this.isLine = false;
    this.lineDone = false;
    map.on("dblclick", (e) => {
      if (this.mode === "line") { e.preventDefault(); this.finish(); }
    });
  }

  startLine() {
    this.clear(false);
    this.isLine = true;
    this.mode = "line";
    this.map.doubleClickZoom.disable();
    this.map.getCanvas().style.cursor = "crosshair";
    this.changed();
  }

  click(e) {
    if (this.mode !== "line") { super.click(e); return; }
    this.vertices.push([Number(e.lngLat.lng.toFixed(7)), Number(e.lngLat.lat.toFixed(7))]);
    this.redraw();
    this.changed();
  }

  finish() {
    if (this.mode !== "line") return super.finish();
    if (this.vertices.length < 2) return false;
    this.mode = null;
    this.lineDone = true;
    this.map.getCanvas().style.cursor = "";
    setTimeout(() => this.map.doubleClickZoom.enable(), 0);
    this.redraw();
    this.changed();
    return true;
  }

  geometry() {
    if (this.isLine) {
      return this.lineDone && this.vertices.length >= 2
        ? { type: "LineString", coordinates: this.vertices.slice() } : null;
    }
    return super.geometry();
  }

  setPoint(ll) {
    this.isLine = false;
    this.lineDone = false;
    super.setPoint(ll);
  }

  clear(notify = true) {
    this.isLine = false;
    this.lineDone = false;
    super.clear(notify);
  }
}

const container = document.getElementById("site-map");
const form = document.getElementById("site-form");
const errorBox = document.getElementById("site-error");
const verdict = document.getElementById("verdict");
const help = document.getElementById("draw-help");
const certStatus = document.getElementById("certificate-status");
const empty = { type: "FeatureCollection", features: [] };
let drawer = null;
let site = null;

function params() {
  return {
    geometry: site,
    buffer_m: Number(document.getElementById("buffer").value || 0),
    nearby_m: Number(document.getElementById("nearby").value || 0),
    lang: document.getElementById("lang").value,
  };
}

function showError(data, fallback) {
  const parts = [data?.message, ...((data?.field_errors || []).map((f) => `${f.field}: ${f.message}`))];
  errorBox.textContent = parts.filter(Boolean).join(" — ") || fallback;
}

// The last verdict's records and buffer, drawn now or, when the map has not loaded yet
// (a slow tablet: a coordinate typed and checked at once), as soon as it has.
let shown = null;
function drawResult() {
  if (!map.getSource("found")) return;
  map.getSource("found").setData(shown ? shown.features : empty);
  map.getSource("buffer").setData(shown ? { type: "Feature", geometry: shown.buffer, properties: {} } : empty);
}

function clearResult() {
  verdict.hidden = true;
  verdict.dataset.state = "";
  certStatus.textContent = "";
  shown = null;
  drawResult();
}

const map = newMap(container);
window.__siteMap = map; // for the browser tests, as map.js and form.js do
map.on("load", () => {
  map.addSource("buffer", { type: "geojson", data: empty });
  map.addSource("found", { type: "geojson", data: empty });
  map.addLayer({ id: "buffer-fill", type: "fill", source: "buffer",
                 paint: { "fill-color": "#0b5cad", "fill-opacity": 0.08 } });
  map.addLayer({ id: "buffer-line", type: "line", source: "buffer",
                 paint: { "line-color": "#0b5cad", "line-width": 1, "line-dasharray": [2, 2] } });
  const polygons = ["==", ["geometry-type"], "Polygon"];
  map.addLayer({ id: "found-released", type: "fill", source: "found",
                 filter: ["all", polygons, ["==", ["get", "kind"], "released_part"]],
                 paint: { "fill-color": "#1a9850", "fill-opacity": 0.45 } });
  map.addLayer({ id: "found-hazards", type: "fill", source: "found",
                 filter: ["all", polygons, ["==", ["get", "kind"], "hazard"]],
                 paint: { "fill-color": "#d7301f", "fill-opacity": 0.45, "fill-outline-color": "#a50f15" } });
  map.addLayer({ id: "found-points", type: "circle", source: "found",
                 filter: ["==", ["geometry-type"], "Point"],
                 paint: { "circle-radius": 5, "circle-stroke-width": 1, "circle-stroke-color": "#fff",
                          "circle-color": ["match", ["get", "kind"], "accident", "#000000", "find", "#6a51a3",
                                           "hazard", "#d7301f", "#1a9850"] } });
  drawer = new SiteDrawer(map, (g) => { site = g; clearResult(); });
  // A point typed before the map loaded, and its verdict if already asked for.
  if (site && site.type === "Point") {
    const result = shown;
    drawer.setPoint(site.coordinates);
    if (result) { shown = result; drawResult(); verdict.hidden = false; verdict.dataset.state = "shown"; }
  }
  container.dataset.ready = "true";
});

const helpText = {
  point: t("Click the map where the site is; drag the point to move it."),
  line: t("Click each point along the line, then Finish (or double-click)."),
  area: t("Click each corner of the area, then Finish (or double-click). Drag corners to edit."),
};
document.getElementById("draw-point").addEventListener("click", () => { drawer.clear(false); drawer.startPoint(); help.textContent = helpText.point; });
document.getElementById("draw-line").addEventListener("click", () => { drawer.startLine(); help.textContent = helpText.line; });
document.getElementById("draw-area").addEventListener("click", () => { drawer.startPolygon(); help.textContent = helpText.area; });
document.getElementById("draw-finish").addEventListener("click", () => {
  if (!drawer.finish()) help.textContent = t("A line needs two points and an area three corners.");
});
document.getElementById("draw-clear").addEventListener("click", () => drawer.clear());

async function useCoordinate() {
  const text = document.getElementById("coord-input").value.trim();
  const out = document.getElementById("coord-result");
  out.textContent = "";
  if (!text) return;
  const res = await fetch(`/web/api/coordinates?text=${encodeURIComponent(text)}`).then((r) => r.json());
  if (!res.ok) { out.textContent = res.message; return; }
  if (drawer) drawer.setPoint([res.lon, res.lat]);
  else { site = { type: "Point", coordinates: [res.lon, res.lat] }; clearResult(); }
  map.jumpTo({ center: [res.lon, res.lat], zoom: Math.max(map.getZoom(), 14) });
  out.textContent = t("Point: {dd}", { dd: res.dd });
}
document.getElementById("coord-read").addEventListener("click", useCoordinate);
document.getElementById("coord-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter") { e.preventDefault(); useCoordinate(); }
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  errorBox.textContent = "";
  if (!site) { errorBox.textContent = t("Draw the site on the map or type a coordinate first."); return; }
  const button = document.getElementById("check");
  button.disabled = true;
  try {
    const res = await api("POST", "/web/api/site-check", params());
    if (!res.ok) { showError(res.data, t("The check failed ({status}).", { status: res.status })); return; }
    const findings = document.getElementById("findings");
    findings.replaceChildren(...res.data.findings.map((line) => el("li", { text: line })));
    document.getElementById("caveat").textContent = res.data.caveat;
    shown = { features: res.data.features, buffer: res.data.buffer };
    drawResult();
    verdict.hidden = false;
    verdict.dataset.state = "shown";
  } finally {
    button.disabled = false;
  }
});

document.getElementById("certificate").addEventListener("click", async () => {
  errorBox.textContent = "";
  certStatus.textContent = t("Making the certificate…");
  const res = await api("POST", "/api/v1/site-check/certificates", params());
  if (!res.ok) { certStatus.textContent = ""; showError(res.data, t("No certificate ({status}).", { status: res.status })); return; }
  const link = el("a", { href: res.data.pdf, download: `site-certificate-${res.data.id.slice(0, 8)}.pdf` });
  document.body.append(link);
  link.click();
  link.remove();
  certStatus.replaceChildren(
    el("span", { text: t("Certificate {id}. Anyone can check later whether the records behind it changed: ", { id: res.data.id }) }),
    el("a", { href: res.data.verify, text: t("verify") }), el("span", { text: "." }));
});
