// The map's place search (issue 21): admin areas, places, Natural Earth populated places
// and the records the user may see, from GET /api/v1/places/search (services/
// gazetteer.py). Suggestions while typing (arrow keys and Enter, or the mouse); Enter
// alone goes to the best match. The map flies to an area's extent or a point.
import { el, t } from "./common.js";

export function flyToPlace(map, p) {
  if (p.bbox && (p.bbox[2] - p.bbox[0] > 1e-4 || p.bbox[3] - p.bbox[1] > 1e-4)) {
    map.fitBounds([[p.bbox[0], p.bbox[1]], [p.bbox[2], p.bbox[3]]], { padding: 40, maxZoom: 14, duration: 800 });
  } else {
    // A town of Natural Earth at village zoom; a record's point closer.
    map.flyTo({ center: [p.lon, p.lat], zoom: p.source === "populated_place" ? 11 : 14, duration: 800 });
  }
  window.__placeSearch = { flown: p };
}

export function attachPlaceSearch(map, form) {
  const input = form.querySelector("input[type=search]");
  const list = form.querySelector("[role=listbox]");
  const status = form.querySelector("[role=status]");
  let items = [];
  let active = -1;
  let seq = 0;
  let timer = null;

  function render() {
    list.replaceChildren(...items.map((p, i) => el("li", {
      id: `place-opt-${i}`, role: "option", class: "place-option", "aria-selected": i === active ? "true" : "false",
      onmousedown: (e) => { e.preventDefault(); choose(i); },
    }, el("strong", { text: p.name }), el("span", { class: "small", text: ` ${p.detail}` }))));
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
    if (active >= 0) input.setAttribute("aria-activedescendant", `place-opt-${active}`);
    else input.removeAttribute("aria-activedescendant");
  }

  async function search() {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) { items = []; active = -1; render(); return []; }
    const res = await fetch(`/api/v1/places/search?q=${encodeURIComponent(q)}&limit=8`, { credentials: "same-origin" });
    if (mine !== seq) return items;
    items = res.ok ? (await res.json()).items : [];
    active = -1;
    status.textContent = items.length ? t("{n} place(s) found.", { n: items.length }) : t("No place found.");
    render();
    return items;
  }

  function choose(i) {
    const p = items[i];
    if (!p) return;
    input.value = p.name;
    items = []; active = -1; render();
    status.textContent = `Showing ${p.name} (${p.detail}).`;
    flyToPlace(map, p);
  }

  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 200); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && items.length) { e.preventDefault(); active = (active + 1) % items.length; render(); }
    else if (e.key === "ArrowUp" && items.length) { e.preventDefault(); active = (active - 1 + items.length) % items.length; render(); }
    else if (e.key === "Escape") { items = []; active = -1; render(); }
  });
  input.addEventListener("blur", () => setTimeout(() => { items = []; render(); }, 150));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearTimeout(timer);
    if (active >= 0) { choose(active); return; }
    await search();
    choose(0);
  });
}
