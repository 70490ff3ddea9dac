// A small drawing tool for one point or one polygon on a MapLibre map: click to add
// corners, Finish (or double-click) to close, drag corners or the point to edit. Small
// enough to read in one sitting, so no drawing library is vendored.
//
// Corners (issue 21, 3) are a circle layer, not DOM markers: a marker of a 0x0 element
// could not be seen or grabbed. A corner is dragged by mouse or touch (the map's own
// panning is off while a corner moves), and selected by a tap: the selected corner is
// removed with the Delete key, the "Delete corner" button or a long press.
const COARSE = typeof matchMedia === "function" && matchMedia("(pointer: coarse)").matches;
// Radii in CSS pixels: a finger needs a target of at least 24 px across; the invisible
// hit circle is larger still, so a corner is caught by a thumb's approximate touch.
const VERTEX_RADIUS = COARSE ? 12 : 6;
const HIT_RADIUS = COARSE ? 22 : 10;
const LONG_PRESS_MS = 650;
const MOVE_TOLERANCE_PX = 6;

export class Drawer {
  constructor(map, onChange) {
    this.map = map;
    this.onChange = onChange;
    this.mode = null; // "polygon" | "point" | null
    this.vertices = []; // [lng, lat]
    this.closed = false;
    this.point = null;
    this.markers = [];
    this.selected = null; // index of the selected corner
    this.drag = null; // {index, start: Point, moved, timer}
    this.onSelect = () => {};
    map.addSource("draw", { type: "geojson", data: this.geojson() });
    map.addSource("draw-vertices", { type: "geojson", data: this.vertexGeojson() });
    map.addLayer({ id: "draw-fill", type: "fill", source: "draw", filter: ["==", ["geometry-type"], "Polygon"],
                   paint: { "fill-color": "#0b5cad", "fill-opacity": 0.25 } });
    map.addLayer({ id: "draw-line", type: "line", source: "draw",
                   paint: { "line-color": "#0b5cad", "line-width": 2 } });
    map.addLayer({ id: "draw-vertex-hit", type: "circle", source: "draw-vertices",
                   paint: { "circle-radius": HIT_RADIUS, "circle-opacity": 0 } });
    map.addLayer({ id: "draw-vertices", type: "circle", source: "draw-vertices",
                   paint: { "circle-radius": ["case", ["get", "selected"], VERTEX_RADIUS + 3, VERTEX_RADIUS],
                            "circle-color": ["case", ["get", "selected"], "#d9480f", "#ffffff"],
                            "circle-stroke-color": "#0b5cad", "circle-stroke-width": 3 } });
    map.on("mousedown", "draw-vertex-hit", (e) => this.grab(e));
    map.on("touchstart", "draw-vertex-hit", (e) => this.grab(e));
    map.on("mousemove", (e) => this.move(e));
    map.on("touchmove", (e) => this.move(e));
    map.on("mouseup", () => this.release());
    map.on("touchend", () => this.release());
    map.on("touchcancel", () => this.release());
    map.on("mouseenter", "draw-vertex-hit", () => { map.getCanvas().style.cursor = "move"; });
    map.on("mouseleave", "draw-vertex-hit", () => { map.getCanvas().style.cursor = this.mode ? "crosshair" : ""; });
    map.getCanvas().addEventListener("keydown", (e) => {
      if ((e.key === "Delete" || e.key === "Backspace") && this.selected !== null) { e.preventDefault(); this.deleteSelected(); }
    });
    map.on("click", (e) => this.click(e));
    map.on("dblclick", (e) => {
      if (this.mode === "polygon") { e.preventDefault(); this.finish(); }
    });
  }

  geojson() {
    const features = [];
    if (this.vertices.length >= 2) {
      const ring = this.vertices.concat(this.closed ? [this.vertices[0]] : []);
      features.push(this.closed && this.vertices.length >= 3
        ? { type: "Feature", geometry: { type: "Polygon", coordinates: [ring] }, properties: {} }
        : { type: "Feature", geometry: { type: "LineString", coordinates: ring }, properties: {} });
    }
    return { type: "FeatureCollection", features };
  }

  vertexGeojson() {
    return { type: "FeatureCollection", features: this.vertices.map((v, i) => ({
      type: "Feature", geometry: { type: "Point", coordinates: v },
      properties: { index: i, selected: i === this.selected } })) };
  }

  // -- corners: grab, move, release (mouse and touch alike) ----------------------------
  grab(e) {
    if (this.mode === "polygon" && !this.closed) return; // while drawing, a tap adds a corner
    const f = e.features && e.features[0];
    if (!f) return;
    e.preventDefault(); // the map does not pan under a held corner
    this.map.dragPan.disable();
    const index = f.properties.index;
    // A long press deletes on touch only: a mouse has the Delete key and button.
    const timer = e.type === "touchstart" && setTimeout(() => {
      if (this.drag && !this.drag.moved) { this.drag = null; this.map.dragPan.enable(); this.select(index); this.deleteSelected(); }
    }, LONG_PRESS_MS);
    this.drag = { index, start: e.point, moved: false, timer };
  }

  move(e) {
    if (!this.drag) return;
    const d = this.drag;
    if (!d.moved && Math.hypot(e.point.x - d.start.x, e.point.y - d.start.y) < MOVE_TOLERANCE_PX) return;
    d.moved = true;
    clearTimeout(d.timer);
    e.preventDefault?.();
    this.vertices[d.index] = [Number(e.lngLat.lng.toFixed(7)), Number(e.lngLat.lat.toFixed(7))];
    this.map.getSource("draw").setData(this.geojson());
    this.map.getSource("draw-vertices").setData(this.vertexGeojson());
  }

  release() {
    if (!this.drag) return;
    const d = this.drag;
    this.drag = null;
    clearTimeout(d.timer);
    this.map.dragPan.enable();
    this.suppressClick = true; // the click that ends a press is not a new corner
    setTimeout(() => { this.suppressClick = false; }, 0);
    if (d.moved) this.changed(); else this.select(d.index);
  }

  select(index) {
    this.selected = index;
    this.map.getSource("draw-vertices").setData(this.vertexGeojson());
    this.onSelect(index);
  }

  deleteSelected() {
    // A polygon keeps at least three corners.
    if (this.selected === null || this.vertices.length <= 3) return false;
    this.vertices.splice(this.selected, 1);
    this.selected = null;
    this.redraw();
    this.onSelect(null);
    this.changed();
    return true;
  }

  geometry() {
    if (this.point) return { type: "Point", coordinates: this.point };
    if (this.closed && this.vertices.length >= 3) {
      return { type: "Polygon", coordinates: [this.vertices.concat([this.vertices[0]])] };
    }
    return null;
  }

  redraw() {
    this.map.getSource("draw").setData(this.geojson());
    this.map.getSource("draw-vertices").setData(this.vertexGeojson());
    for (const m of this.markers) m.remove();
    this.markers = [];
    const add = (lnglat, i) => {
      const node = document.createElement("div");
      node.className = i === null ? "draw-point" : "draw-vertex";
      const m = new maplibregl.Marker({ element: i === null ? undefined : node, draggable: true, color: "#0b5cad" })
        .setLngLat(lnglat).addTo(this.map);
      m.on("drag", () => {
        const ll = m.getLngLat();
        if (i === null) this.point = [ll.lng, ll.lat]; else this.vertices[i] = [ll.lng, ll.lat];
        this.map.getSource("draw").setData(this.geojson());
      });
      m.on("dragend", () => this.changed());
      this.markers.push(m);
    };
    if (this.point) add(this.point, null);
  }

  changed() { this.onChange(this.geometry(), this); }

  startPolygon() {
    this.clear(false);
    this.mode = "polygon";
    this.map.doubleClickZoom.disable();
    this.map.getCanvas().style.cursor = "crosshair";
    this.changed();
  }

  startPoint() {
    this.mode = "point";
    this.map.getCanvas().style.cursor = "crosshair";
  }

  click(e) {
    if (this.suppressClick) return;
    if (!this.mode && this.selected !== null) { this.select(null); return; }
    const ll = [Number(e.lngLat.lng.toFixed(7)), Number(e.lngLat.lat.toFixed(7))];
    if (this.mode === "polygon" && !this.closed) {
      this.vertices.push(ll);
      this.redraw();
      this.changed();
    } else if (this.mode === "point") {
      this.setPoint(ll);
      this.mode = null;
      this.map.getCanvas().style.cursor = "";
    }
  }

  undo() {
    if (this.mode === "polygon" && !this.closed) { this.vertices.pop(); this.redraw(); this.changed(); }
  }

  finish() {
    if (this.vertices.length < 3) return false;
    this.closed = true;
    this.mode = null;
    this.map.getCanvas().style.cursor = "";
    setTimeout(() => this.map.doubleClickZoom.enable(), 0);
    this.redraw();
    this.changed();
    return true;
  }

  setPoint(ll) {
    this.vertices = []; this.closed = false;
    this.point = ll;
    this.redraw();
    this.changed();
  }

  setGeometry(g) {
    this.clear(false);
    if (!g) return;
    if (g.type === "Point") this.point = g.coordinates;
    else {
      const ring = (g.type === "Polygon" ? g.coordinates : g.coordinates[0])[0];
      this.vertices = ring.slice(0, -1);
      this.closed = true;
    }
    this.redraw();
  }

  clear(notify = true) {
    this.selected = null;
    this.vertices = []; this.closed = false; this.point = null; this.mode = null;
    this.redraw();
    if (notify) this.changed();
  }
}
