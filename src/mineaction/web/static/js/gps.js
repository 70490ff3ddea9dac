// The GPS button (issue 21): the browser's geolocation (on a tablet, its GPS) shown as a
// dot inside a circle of its accuracy, with the accuracy in metres beside the button.
// `onFix(lon, lat, accuracy)` lets a form take the position as its point.
import { el, t } from "./common.js";

const EMPTY = { type: "FeatureCollection", features: [] };

// A circle of `radius` metres around lon/lat as a 64-sided polygon (the accuracy is a
// radius on the ground: drawn in degrees it would be an oval away from the equator).
function circle(lon, lat, radius) {
  const ring = [];
  const dLat = radius / 111320;
  const dLon = radius / (111320 * Math.cos((lat * Math.PI) / 180));
  for (let i = 0; i <= 64; i++) {
    const a = (i / 64) * 2 * Math.PI;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return { type: "Feature", geometry: { type: "Polygon", coordinates: [ring] }, properties: {} };
}

function ensureLayers(map) {
  if (map.getSource("gps")) return;
  map.addSource("gps", { type: "geojson", data: EMPTY });
  map.addLayer({ id: "gps-accuracy", type: "fill", source: "gps", filter: ["==", ["geometry-type"], "Polygon"],
                 paint: { "fill-color": "#1a73e8", "fill-opacity": 0.15, "fill-outline-color": "#1a73e8" } });
  map.addLayer({ id: "gps-dot", type: "circle", source: "gps", filter: ["==", ["geometry-type"], "Point"],
                 paint: { "circle-radius": 7, "circle-color": "#1a73e8", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
}

export class GpsControl {
  constructor(onFix = null) { this.onFix = onFix; }

  onAdd(map) {
    this.map = map;
    this.box = el("div", { class: "maplibregl-ctrl maplibregl-ctrl-group gps-control" });
    this.button = el("button", { type: "button", class: "gps-button", "aria-label": t("GPS: show my position"), title: t("GPS: show my position"), text: "GPS" });
    this.status = el("span", { class: "gps-status", role: "status", "aria-live": "polite" });
    this.box.append(this.button, this.status);
    this.button.addEventListener("click", () => this.locate());
    return this.box;
  }

  onRemove() { this.box.remove(); }

  locate() {
    if (!("geolocation" in navigator)) { this.status.textContent = t("No GPS in this browser."); return; }
    this.status.textContent = t("Locating…");
    this.button.disabled = true;
    navigator.geolocation.getCurrentPosition((pos) => this.show(pos.coords), (err) => {
      this.button.disabled = false;
      this.status.textContent = err.code === err.PERMISSION_DENIED ? t("Location not allowed.") : t("No position.");
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  }

  show(coords) {
    const { longitude: lon, latitude: lat, accuracy } = coords;
    this.button.disabled = false;
    ensureLayers(this.map);
    this.map.getSource("gps").setData({ type: "FeatureCollection", features: [
      circle(lon, lat, accuracy), { type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: {} }] });
    const metres = Math.round(accuracy);
    this.status.textContent = `±${metres.toLocaleString("en")} m`;
    this.box.dataset.accuracy = String(metres);
    // Zoomed so the accuracy circle fills a good part of the view, never past a village.
    const zoom = Math.max(8, Math.min(17, Math.log2((40075016 * Math.cos((lat * Math.PI) / 180)) / (accuracy * 8))));
    this.map.flyTo({ center: [lon, lat], zoom, duration: 600 });
    window.__gps = { lon, lat, accuracy };
    if (this.onFix) this.onFix(lon, lat, accuracy);
  }
}
