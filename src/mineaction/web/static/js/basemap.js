// The offline basemap, served by this server as vector tiles (web/basemap.py): Natural
// Earth country outlines, and (issue 21) 1:10m land, lakes, rivers and populated places
// with labels, plus the store's own admin areas with their names
// (/web/api/basemap/admin/…, web/admin_tiles.py). Labels use the glyphs vendored in
// static/vendor/glyphs (DejaVu Sans), so nothing is fetched from another host. An online
// raster tile URL, when set in the settings, is drawn under the outlines and simply stays
// blank when unreachable. A basemap file the user supplies (setting basemap_file, an
// MBTiles) replaces the shipped layers: see useUserBasemap.
import { holdPartialFrames, skipUnsettledPaints } from "./frame_hold.js";

const FONT = ["DejaVu Sans Book"];
export const BASEMAP_LAYERS = ["land", "lakes", "rivers", "river-labels", "borders", "places-dot", "places-label"];

export function baseStyle(tileUrl, attribution) {
  // Absolute URLs: the worker that fetches tiles has no page to resolve a relative one against.
  const origin = location.origin;
  const sources = {
    // Tiles, not GeoJSON: cutting the world in the browser's worker held up the first
    // render by a second. Past zoom 10 the map over-zooms them.
    basemap: { type: "vector", tiles: [`${origin}/web/api/basemap/{z}/{x}/{y}.mvt`], maxzoom: 10,
               attribution: "Natural Earth (public domain)" },
    admin: { type: "vector", tiles: [`${origin}/web/api/basemap/admin/{z}/{x}/{y}.mvt`], maxzoom: 12 },
  };
  const layers = [{ id: "sea", type: "background", paint: { "background-color": "#cfe3ef" } }];
  if (tileUrl) {
    sources.online = { type: "raster", tiles: [tileUrl], tileSize: 256, attribution };
  }
  const src = (layer) => ({ source: "basemap", "source-layer": layer });
  layers.push({ id: "land", type: "fill", ...src("land"), paint: { "fill-color": "#f4f1ea" } });
  if (tileUrl) layers.push({ id: "online", type: "raster", source: "online" });
  layers.push(
    { id: "lakes", type: "fill", ...src("lakes"), paint: { "fill-color": "#cfe3ef", "fill-outline-color": "#9cc3dd" } },
    { id: "rivers", type: "line", ...src("rivers"),
      paint: { "line-color": "#8fbcd9", "line-width": ["interpolate", ["linear"], ["zoom"], 3, 0.6, 8, 1.4, 12, 2.5] } },
    { id: "borders", type: "line", source: "basemap", "source-layer": "countries",
      paint: { "line-color": "#8a8a8a", "line-width": 0.8 } },
    { id: "admin-lines", type: "line", source: "admin", "source-layer": "admin",
      paint: { "line-color": "#7a6a8a", "line-dasharray": [3, 2],
               "line-width": ["match", ["get", "level"], [0, 1], 1.2, 0.7] } },
    { id: "river-labels", type: "symbol", ...src("rivers"), minzoom: 7,
      layout: { "symbol-placement": "line", "text-field": ["get", "name"], "text-font": FONT, "text-size": 11 },
      paint: { "text-color": "#3d6f95", "text-halo-color": "#ffffff", "text-halo-width": 1 } },
    // Admin areas' names (under the places' in the order labels are placed, so a city
    // keeps its name where a department's would cover it): departments from zoom 4,
    // municipalities from 8, finer levels from 10.
    { id: "admin-labels", type: "symbol", source: "admin", "source-layer": "admin_labels",
      filter: ["any", ["<=", ["get", "level"], 1], ["all", ["==", ["get", "level"], 2], [">=", ["zoom"], 8]], [">=", ["zoom"], 10]],
      layout: { "text-field": ["get", "name"], "text-font": FONT, "text-size": ["match", ["get", "level"], [0, 1], 13, 11],
                "text-transform": ["match", ["get", "level"], [0, 1], "uppercase", "none"], "text-letter-spacing": 0.05,
                "text-max-width": 8, "symbol-sort-key": ["get", "level"] },
      paint: { "text-color": "#5e4f6e", "text-halo-color": "#ffffff", "text-halo-width": 1.2 } },
    { id: "places-dot", type: "circle", ...src("places"), maxzoom: 14,
      paint: { "circle-radius": ["interpolate", ["linear"], ["get", "scalerank"], 0, 4, 10, 2],
               "circle-color": "#444", "circle-stroke-color": "#fff", "circle-stroke-width": 1 } },
    { id: "places-label", type: "symbol", ...src("places"),
      layout: { "text-field": ["get", "name"], "text-font": FONT, "symbol-sort-key": ["get", "rank"],
                // Larger places, larger names: scale rank 0 (capitals) to 10 (towns).
                "text-size": ["interpolate", ["linear"], ["get", "scalerank"], 0, 15, 10, 11],
                "text-anchor": "top", "text-offset": [0, 0.4], "text-max-width": 8 },
      paint: { "text-color": "#222", "text-halo-color": "#fffdf6", "text-halo-width": 1.5 } },
  );
  return { version: 8, glyphs: `${origin}/web/static/vendor/glyphs/{fontstack}/{range}.pbf`, sources, layers };
}

// The user's basemap file (MBTiles), when the setting names one: drawn instead of the
// shipped Natural Earth layers (the admin areas from the store stay). Vector files are
// drawn generically (their schema is not known): each layer's polygons, lines and names.
async function useUserBasemap(map, styleLoaded) {
  let info;
  try {
    const res = await fetch("/web/api/basemap/user/info", { credentials: "same-origin" });
    if (!res.ok) return;
    info = await res.json();
  } catch { return; }
  const add = () => {
    const source = { tiles: [location.origin + info.tiles], minzoom: info.minzoom, maxzoom: info.maxzoom,
                     attribution: info.attribution || info.name };
    if (info.bounds) source.bounds = info.bounds;
    map.addSource("user-basemap", info.vector ? { type: "vector", ...source } : { type: "raster", tileSize: 256, ...source });
    const before = "borders";
    if (info.vector) {
      for (const id of info.vector_layers) {
        const base = { source: "user-basemap", "source-layer": id };
        map.addLayer({ id: `user-${id}-fill`, type: "fill", ...base, filter: ["==", ["geometry-type"], "Polygon"],
                       paint: { "fill-color": "#ece7dc", "fill-outline-color": "#c9c0ad" } }, before);
        map.addLayer({ id: `user-${id}-line`, type: "line", ...base, filter: ["==", ["geometry-type"], "LineString"],
                       paint: { "line-color": "#b7ab97", "line-width": 1 } }, before);
        map.addLayer({ id: `user-${id}-label`, type: "symbol", ...base, filter: ["has", "name"],
                       layout: { "text-field": ["get", "name"], "text-font": FONT, "text-size": 11 },
                       paint: { "text-color": "#333", "text-halo-color": "#fff", "text-halo-width": 1 } });
      }
    } else {
      map.addLayer({ id: "user-basemap", type: "raster", source: "user-basemap" }, before);
    }
    for (const id of BASEMAP_LAYERS) {
      if (id !== "borders" && map.getLayer(id)) map.setLayoutProperty(id, "visibility", "none");
    }
    map.getContainer().dataset.userBasemap = info.format;
  };
  // Not map.isStyleLoaded(): it stays false while any tile is loading.
  await styleLoaded;
  add();
}

export function newMap(container, extra = {}) {
  // MapLibre starts one web worker per two cores: one on a 2-core laptop, where cutting
  // the basemap's tiles then holds up every other source's. Two let them overlap.
  if (maplibregl.getWorkerCount() < 2) maplibregl.setWorkerCount(2);
  const tileUrl = container.dataset.tileUrl || "";
  const attribution = container.dataset.tileAttribution || "";
  const map = new maplibregl.Map({
    container, style: baseStyle(tileUrl, attribution), center: [-74.3, 4.6], zoom: 4.3,
    attributionControl: { compact: true }, fadeDuration: 0, ...extra,
  });
  holdPartialFrames(map);
  skipUnsettledPaints(map);
  useUserBasemap(map, new Promise((resolve) => map.once("style.load", resolve)));
  return map;
}
