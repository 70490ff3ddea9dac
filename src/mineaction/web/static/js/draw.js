// A small drawing tool for one point or one polygon on a MapLibre map: click to add
// corners, Finish (or double-click) to close, drag corners or the point to edit. Small
// enough to read in one sitting, so no drawing library is vendored.
export class Drawer {
  constructor(map, onChange) {
    this.map = map;
    this.onChange = onChange;
    this.mode = null; // "polygon" | "point" | null
    this.vertices = []; // [lng, lat]
    this.closed = false;
    this.point = null;
    this.markers = [];
    map.addSource("draw", { type: "geojson", data: this.geojson() });
    map.addLayer({ id: "draw-fill", type: "fill", source: "draw", filter: ["==", ["geometry-type"], "Polygon"],
                   paint: { "fill-color": "#0b5cad", "fill-opacity": 0.25 } });
    map.addLayer({ id: "draw-line", type: "line", source: "draw",
                   paint: { "line-color": "#0b5cad", "line-width": 2 } });
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

  geometry() {
    if (this.point) return { type: "Point", coordinates: this.point };
    if (this.closed && this.vertices.length >= 3) {
      return { type: "Polygon", coordinates: [this.vertices.concat([this.vertices[0]])] };
    }
    return null;
  }

  redraw() {
    this.map.getSource("draw").setData(this.geojson());
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
    this.vertices.forEach((v, i) => add(v, i));
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
    this.vertices = []; this.closed = false; this.point = null; this.mode = null;
    this.redraw();
    if (notify) this.changed();
  }
}
