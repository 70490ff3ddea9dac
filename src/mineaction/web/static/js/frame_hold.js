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
//
// Then one paint less: the frame that brings a move's last tiles places their labels, and
// MapLibre places them once more in the next frame (its index of labels across tiles
// changed), which it schedules at once. That first placement is only a draft, so its frame
// is not drawn (`skipUnsettledPaints`): MapLibre still updates everything else in it, and
// the next frame, one animation frame later, draws the settled labels. Never skipped: a
// frame with a new camera, while moving, with tiles still loading, two in a row, or on a
// map whose labels fade in (where placement stays unsettled for the whole fade).
export const HOLD_MS = 300;

// Where the map looks: a frame for a new one is a camera change, never held nor skipped.
function cameraOf(map) {
  const c = map.getCenter();
  return `${c.lng},${c.lat},${map.getZoom()},${map.getBearing()},${map.getPitch()}`;
}

export function holdPartialFrames(map, holdMs = HOLD_MS) {
  const paint = map.triggerRepaint.bind(map);
  let camera = "";
  let cameraAt = -Infinity;
  let held = false;
  let timer = null;
  const cameraNow = () => cameraOf(map);
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

// MapLibre's painter and its `_placementDirty` and `_fadeDuration` are internals
// (maplibre-gl 5.x, vendored; tests/web/test_map_paint_skip.py): on a build without them
// nothing is skipped and the map draws every frame, as MapLibre does.
export function skipUnsettledPaints(map) {
  const painter = map.painter;
  if (!painter || typeof painter.render !== "function") return map;
  const draw = painter.render.bind(painter);
  let drawnCamera = "";
  let skippedLast = false;
  map.unsettledPaintsSkipped = 0;
  painter.render = function render(...args) {
    const camera = cameraOf(map);
    const draft = map._placementDirty === true && map._fadeDuration === 0;
    if (draft && !skippedLast && camera === drawnCamera && !map.isMoving()
        && map.areTilesLoaded()) {
      skippedLast = true;
      map.unsettledPaintsSkipped += 1;
      return undefined;
    }
    skippedLast = false;
    drawnCamera = camera;
    return draw(...args);
  };
  return map;
}
