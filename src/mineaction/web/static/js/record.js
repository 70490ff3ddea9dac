// The record page: workflow buttons (the API decides; the buttons are only shown to roles
// that may use them) and a small map of the record's geometry.
import { api, t } from "./common.js";
import { newMap } from "./basemap.js";

const section = document.getElementById("record");
const message = document.getElementById("action-message");
for (const button of section.querySelectorAll("button[data-action]")) {
  button.addEventListener("click", async () => {
    const action = button.dataset.action;
    let body;
    if (action === "reject") {
      const reason = document.getElementById("reject-reason").value.trim();
      if (!reason) { message.textContent = t("Give a reason for rejecting."); document.getElementById("reject-reason").focus(); return; }
      body = { reason };
    }
    button.disabled = true;
    const res = await api("POST", `/api/v1/${section.dataset.collection}/${section.dataset.id}/${action}`, body,
                          { "If-Match": `"${section.dataset.version}"` });
    if (res.ok) {
      window.location.reload();
    } else {
      button.disabled = false;
      message.textContent = (res.data && res.data.message) || t("Failed ({status}).", { status: res.status });
    }
  });
}

const mapEl = document.getElementById("record-map");
if (mapEl) {
  const geometry = JSON.parse(mapEl.dataset.geometry);
  const map = newMap(mapEl, { interactive: true });
  map.on("load", () => {
    map.addSource("record", { type: "geojson", data: { type: "Feature", geometry, properties: {} } });
    if (geometry.type === "Point") {
      map.addLayer({ id: "record-pt", type: "circle", source: "record", paint: { "circle-radius": 7, "circle-color": "#b2182b", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
      map.jumpTo({ center: geometry.coordinates, zoom: 11 });
    } else {
      map.addLayer({ id: "record-fill", type: "fill", source: "record", paint: { "fill-color": "#b2182b", "fill-opacity": 0.35 } });
      map.addLayer({ id: "record-line", type: "line", source: "record", paint: { "line-color": "#b2182b", "line-width": 2 } });
      const b = new maplibregl.LngLatBounds();
      const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
      walk(geometry.coordinates);
      map.fitBounds(b, { padding: 30, duration: 0, maxZoom: 16 });
    }
    map.once("idle", () => { mapEl.dataset.ready = "true"; });
  });
}
