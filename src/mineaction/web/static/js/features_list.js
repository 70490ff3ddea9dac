// Map features by keyboard (issue 21, 7): the records drawn in the view, listed in the
// sidebar as buttons in reading order. A mouse clicks a feature on the map; a keyboard or
// a screen reader reaches the same feature here, and Enter opens the same popup, with the
// focus on its link to the record. Refreshed when the map settles after a move.
import { el, t } from "./common.js";

const MAX_LISTED = 50;

function centre(f) {
  const g = f.geometry;
  if (g.type === "Point") return g.coordinates;
  let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
  (function walk(c) {
    if (typeof c[0] === "number") {
      minx = Math.min(minx, c[0]); maxx = Math.max(maxx, c[0]);
      miny = Math.min(miny, c[1]); maxy = Math.max(maxy, c[1]);
    } else c.forEach(walk);
  })(g.coordinates);
  return [(minx + maxx) / 2, (miny + maxy) / 2];
}

export function attachFeatureList(map, section, layers, popupFor) {
  const list = section.querySelector("ul");
  const status = section.querySelector("[role=status]");
  let popup = null;

  function open(f) {
    if (popup) popup.remove();
    const content = popupFor(f);
    popup = new maplibregl.Popup({ maxWidth: "320px" }).setLngLat(centre(f)).setDOMContent(content).addTo(map);
    const link = content.querySelector("a");
    if (link) link.focus();
  }

  function refresh() {
    const shown = layers.filter((l) => map.getLayer(l));
    const seen = new Set();
    const items = [];
    let more = false;
    for (const f of map.queryRenderedFeatures({ layers: shown })) {
      const p = f.properties || {};
      const key = `${f.source}:${p.id ?? p.fid ?? f.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (items.length === MAX_LISTED) { more = true; break; }
      items.push(f);
    }
    list.replaceChildren(...items.map((f) => {
      const label = popupFor(f).querySelector("strong")?.textContent || f.source;
      return el("li", {}, el("button", { type: "button", class: "feature-item", text: label.trim(), onclick: () => open(f) }));
    }));
    status.textContent = items.length === 0 ? t("No record in view.")
      : more ? t("The first {n} records in view; zoom in for the rest.", { n: MAX_LISTED })
      : t("{n} records in view.", { n: items.length });
  }

  let timer = null;
  map.on("idle", () => { clearTimeout(timer); timer = setTimeout(refresh, 150); });
}
