// Fewer frames while a move's tiles come in (issue 21).
//
// MapLibre paints a frame for each wave of tiles a move brings (the admin areas', the
// basemap's, the accidents'), then one more to place the new labels. In a browser that
// draws in software (no usable GPU: a virtual machine, a GPU the browser blocks, headless
// Chromium, where Chromium uses SwiftShader), a frame costs 40-50 ms of the same cores
// that the map's workers need to cut the next tiles, so each partial frame delays the
// whole map (bench/web_bench.py, docs/benchmarks.md). A frame that would show only some
// of the new tiles is therefore held until they have all come, or until HOLD_MS after
// the move's own frame, whichever is first.
//
// Never held: a frame for a camera change (a drag, a zoom: the map follows the hand at
// once, showing the tiles it has), a frame while the map is moving, a frame once every
// tile is in. So the user sees the move at once and its detail in one paint; on a slow
// network (a tile slower than HOLD_MS) the map paints as tiles come, as before.
export const HOLD_MS = 300;

export function holdPartialFrames(map, holdMs = HOLD_MS) {
  const paint = map.triggerRepaint.bind(map);
  let camera = "";
  let cameraAt = -Infinity;
  let held = false;
  let timer = null;
  const cameraNow = () => {
    const c = map.getCenter();
    return `${c.lng},${c.lat},${map.getZoom()},${map.getBearing()},${map.getPitch()}`;
  };
  const release = () => {
    if (!held) return;
    held = false;
    clearTimeout(timer);
    map.off("data", onData);
    paint();
  };
  const onData = () => { if (map.areTilesLoaded()) release(); };
  map.on("render", () => {
    const now = cameraNow();
    if (now !== camera) { camera = now; cameraAt = performance.now(); }
  });
  map.triggerRepaint = function triggerRepaint() {
    const waited = performance.now() - cameraAt;
    if (map.isMoving() || cameraNow() !== camera || waited >= holdMs || map.areTilesLoaded()) {
      if (held) release();
      else paint();
      return this;
    }
    if (!held) {
      held = true;
      map.on("data", onData);
      timer = setTimeout(release, holdMs - waited);
    }
    return this;
  };
  return map;
}
