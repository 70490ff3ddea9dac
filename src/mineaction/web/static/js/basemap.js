// The offline basemap: Natural Earth country outlines served by this server as vector
// tiles (web/basemap.py), drawn with no glyphs or sprites (so no fonts to fetch). An online
// raster tile URL, when set in the settings, is drawn under the outlines and simply stays
// blank when unreachable.
export function baseStyle(tileUrl, attribution) {
  const sources = {
    // Tiles, not the whole GeoJSON: cutting the world into tiles in the browser's worker
    // held up the first render by a second. maxzoom 6: outlines at 1:50m gain nothing
    // from finer tiles. Absolute URL: the worker that fetches them has no page to resolve
    // a relative one against.
    countries: { type: "vector", tiles: [`${location.origin}/web/api/basemap/{z}/{x}/{y}.mvt`], maxzoom: 6,
                 attribution: "Natural Earth (public domain)" },
  };
  const layers = [{ id: "sea", type: "background", paint: { "background-color": "#cfe3ef" } }];
  if (tileUrl) {
    sources.online = { type: "raster", tiles: [tileUrl], tileSize: 256, attribution };
  }
  layers.push({ id: "land", type: "fill", source: "countries", "source-layer": "countries",
                paint: { "fill-color": "#f4f1ea" } });
  if (tileUrl) layers.push({ id: "online", type: "raster", source: "online" });
  layers.push({ id: "borders", type: "line", source: "countries", "source-layer": "countries",
                paint: { "line-color": "#8a8a8a", "line-width": 0.8 } });
  return { version: 8, sources, layers };
}

export function newMap(container, extra = {}) {
  // MapLibre starts one web worker per two cores: one on a 2-core laptop, where cutting
  // the basemap's tiles then holds up every other source's. Two let them overlap.
  if (maplibregl.getWorkerCount() < 2) maplibregl.setWorkerCount(2);
  const tileUrl = container.dataset.tileUrl || "";
  const attribution = container.dataset.tileAttribution || "";
  return new maplibregl.Map({
    container, style: baseStyle(tileUrl, attribution), center: [-74.3, 4.6], zoom: 4.3,
    attributionControl: { compact: true }, fadeDuration: 0, ...extra,
  });
}
