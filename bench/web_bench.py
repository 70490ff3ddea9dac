"""Web map benchmark: time to first map render and to pan/zoom with N accidents (default
100,000) in headless Chromium (Debian's /usr/bin/chromium, through Playwright).

    python bench/web_bench.py [--accidents 100000] [--repeat 3] [--workdir DIR]

Builds a GeoPackage store with N synthetic accidents spread over Colombia's municipalities
(bench/synthetic.py), serves the app (API and web) as `mineaction serve` does on 127.0.0.1 in a
process of its own, and for
each repeat opens the map in a fresh browser context (no browser cache) as the public
would, then:
- first render: from navigation start to the map's first "idle" with every accident
  loaded (window.__mapState.firstRenderMs, measured in the page), with the page's own
  steps (window.__mapState.phases) and the server time of the accidents' summary request;
- pan and zoom: a sequence of 6 camera moves (zoom in twice, pan, zoom out), each timed
  to the map's next "idle".
The first run meets a server that has just started (its layer cache is empty: the summary
request runs the query); the later runs meet a warm server cache, as every visitor after
the first does until the data change. Both are reported, and the median over all runs is
checked against the target. Afterwards the layer requests are timed on their own with
urllib: the summary, a tile, and the whole layer as columns (/web/api/layers/accidents).
Prints the figures and writes bench/results/web_bench.json. Peer: the same browser drawing
the basemap alone (every data layer hidden, a fresh context) through the same moves.
Tiles: every vector tile request of ours and of the peer (Playwright's timing), p99 over
the warm runs, two ways: on the wire (responseEnd - requestStart: from the request leaving
the browser to its last byte, the server's time and the transfer) and queued (responseEnd:
from when the page issued it, which adds the wait for one of the browser's 6 HTTP/1.1
connections to the host; a move asks for some 40 tiles at once). The tile target is
checked against the wire figure; the queued one, the figure this bench reported first,
is kept beside it in the json (it is part of the pan/zoom time, which has its own target).
A third figure, the time each tile spends in the server (arrival to last byte written,
timed by the bench's server process), shows how much of the wire time is the server's.
Targets: issue 4, first render under 3 s; issue 21, pan and zoom under 150 ms (median of
the moves) and tile p99 under 50 ms (on the wire).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, load_average, machine, stamp, workdir, write_json  # noqa: E402
from synthetic import accident_points  # noqa: E402

# --host-resolver-rules: no host but this machine resolves, so the page cannot reach
# another one (an online basemap, a CDN). It replaced Playwright's request interception,
# which held every request (tiles too) until this script's Python had said go on.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
TARGET_FIRST_RENDER_S = 3.0
# Issue 21: pan and zoom to idle, and the map's tile requests, with the detail basemap.
TARGET_PAN_ZOOM_MS = 150.0
TARGET_TILE_P99_MS = 50.0


def build_store(path: Path, n: int) -> float:
    from mineaction.io.pipeline import import_file
    from mineaction.store import open_store

    lon, lat = accident_points(n)
    csv_path = path.with_suffix(".csv")
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "accident_date", "longitude", "latitude", "accident_kind"])
        for i in range(n):
            w.writerow([f"a{i}", f"{2000 + i % 21}-{1 + i % 12:02d}-01", f"{lon[i]:.6f}",
                        f"{lat[i]:.6f}", "mine"])
    t = time.perf_counter()
    with open_store(str(path)) as store:
        import_file(store, csv_path, kind="accident", dataset="bench")
    return time.perf_counter() - t


SERVER_TIMES = "/__bench/tile-times"


class TileTimer:
    """ASGI wrapper (the bench's server only): the time each tile request spends in the
    server, from its arrival to its last byte written, kept until GET SERVER_TIMES hands
    them over (and forgets them). The third figure beside the browser's two: what the
    server itself takes while the browser draws on the same two cores."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.endswith(".mvt") or path == SERVER_TIMES):
            await self.app(scope, receive, send)
            return
        if path == SERVER_TIMES:
            import json

            body = json.dumps([round(t, 1) for t in self.times]).encode()
            self.times = []
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        start = time.perf_counter()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.times.append((time.perf_counter() - start) * 1000)

        await self.app(scope, receive, timed_send)


def _run_server(store: str, upload: str, port: int) -> None:
    """The app (API and web: create_app mounts both) served as `mineaction serve` serves
    it (api/serving.py): uvloop accepting every waiting connection and httptools, and the
    start-up's objects frozen out of the collector's full passes when the worker starts
    serving (http/heap.py). Under a bare `uvicorn.run` (uvloop's own accepting, one new
    connection a turn of the loop; no freeze; the web mounted twice) the first tiles of
    each fresh browser context waited behind the page's other requests: tile p99 on the
    wire 44-69 ms against 29-46 ms served as deployed (docs/benchmarks.md)."""
    import uvicorn

    from mineaction.api import serving
    from mineaction.app import create_app
    from mineaction.services.settings import load_settings

    settings = load_settings(store=store, upload_dir=Path(upload))
    loop, http = serving.loop_and_http()
    uvicorn.run(TileTimer(create_app(settings)), host="127.0.0.1", port=port,
                log_level="warning", loop=loop, http=http)


def server_tile_times(url: str) -> list[float]:
    """The server's time of each tile request since the last call (TileTimer)."""
    import json
    import urllib.request

    with urllib.request.urlopen(url + SERVER_TIMES) as r:
        return json.load(r)  # type: ignore[no-any-return]


def server_cpu_per_tile(pid: int, url: str, layer_tiles: str, seconds: float = 2.0
                        ) -> dict[str, float]:
    """The server process's CPU time a tile of each source (user + system, from /proc),
    nine tiles of a zoom-8 view asked in turn on one connection for `seconds`, after a
    first round that fills the caches: what a tile costs the server apart from waiting
    for a core, which sets how long a move's burst of tiles keeps it busy."""
    import http.client

    def cpu_s() -> float:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port)
    sources = {"basemap": "/web/api/basemap/{z}/{x}/{y}.mvt",
               "admin": "/web/api/basemap/admin/{z}/{x}/{y}.mvt", "accidents": layer_tiles}
    out = {}
    for source, template in sources.items():
        paths = [template.replace("{z}/{x}/{y}", f"8/{74 + i % 3}/{123 + i // 3}")
                 for i in range(9)]

        def ask(path: str) -> None:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, (path, response.status)

        for path in paths:
            ask(path)
        asked, started, cpu_before = 0, time.perf_counter(), cpu_s()
        while time.perf_counter() - started < seconds:
            for path in paths:
                ask(path)
                asked += 1
        out[source] = round((cpu_s() - cpu_before) / asked * 1000, 3)
    conn.close()
    return out


def serve(store: Path, upload: Path) -> tuple[Any, str]:
    """The app (API and web, `_run_server`) in a process of its own, as it is deployed:
    in a thread of this process it shared the interpreter lock with Playwright's client,
    which handles an event for every request the page makes, and the tiles' times on the
    wire counted that wait."""
    import multiprocessing
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = multiprocessing.get_context("spawn").Process(
        target=_run_server, args=(str(store), str(upload), port), daemon=True)
    server.start()
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if not server.is_alive() or time.monotonic() > deadline:
                raise SystemExit("the server did not start") from None
            time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


MOVES = [("zoom in", "map.zoomTo(map.getZoom() + 2, {duration: 0})"),
         ("zoom in", "map.zoomTo(map.getZoom() + 2, {duration: 0})"),
         ("pan east", "map.panBy([400, 0], {duration: 0})"),
         ("pan south", "map.panBy([0, 300], {duration: 0})"),
         ("zoom out", "map.zoomTo(map.getZoom() - 3, {duration: 0})"),
         ("zoom out", "map.zoomTo(map.getZoom() - 2, {duration: 0})")]


def _open_map(browser: Any, url: str, requests: list[Timed] | None = None
              ) -> tuple[Any, Any]:
    """A fresh browser context (no cache) on the map page, once the map is ready; every
    request of the context, timed (`_timed`), appended to `requests` when given."""
    # bypass_csp: Playwright's wait_for_function evaluates a string, which the pages'
    # Content-Security-Policy (#15) forbids; tests/web/conftest.py does the same.
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)

    if requests is not None:
        # Tiles are fetched by MapLibre's worker, which the page's Resource Timing does
        # not see; Playwright sees every request of the context.
        ctx.on("requestfinished", lambda r: requests.append(_timed(r)))
    page = ctx.new_page()
    page.goto(url + "/")
    page.wait_for_function("window.__mapState && window.__mapState.ready", timeout=120_000,
                           polling=50)
    return ctx, page


# A request as Playwright timed it: its path, and in ms from when the page issued it
# ("queued": responseEnd, which counts the wait for one of the browser's 6 HTTP/1.1
# connections to the host) and from when it left the browser ("wire": responseEnd -
# requestStart, the server's time and the transfer). -1 where Playwright has no figure (a
# request answered from the browser's cache).
Timed = tuple[str, float, float]


def _timed(r: Any) -> Timed:
    timing = r.timing
    end, start = timing["responseEnd"], timing["requestStart"]
    wire = end - start if end >= 0 and start >= 0 else -1.0
    return urlsplit(r.url).path, end, wire


def _tile_source(path: str) -> str:
    """Which of the map's vector sources a tile path belongs to."""
    if path.startswith("/web/api/basemap/admin/"):
        return "admin"
    if path.startswith("/web/api/basemap/"):
        return "basemap"
    return path.split("/")[4] if path.startswith("/web/api/tiles/") else "other"


def _tiles(requests: list[Timed]) -> dict[str, Any]:
    """The tile requests of one context: both timings of each (rounded ms, -1 for a cached
    answer), and how many each source made."""
    tiles = [(path, queued, wire) for path, queued, wire in requests if path.endswith(".mvt")]
    sources: dict[str, int] = {}
    for path, _, _ in tiles:
        sources[_tile_source(path)] = sources.get(_tile_source(path), 0) + 1
    return {"tile_request_ms_all": [round(q) for _, q, _ in tiles],
            "tile_wire_ms_all": [round(w) for _, _, w in tiles],
            "tiles_by_source": sources}


def measure(browser: Any, url: str) -> dict[str, Any]:
    requests: list[Timed] = []
    server_tile_times(url)
    ctx, page = _open_map(browser, url, requests)
    state = page.evaluate("window.__mapState")
    first = list(requests)
    moves = _moves(page)
    every_tile = _tiles(requests)
    ctx.close()
    every_tile["tile_server_ms_all"] = server_tile_times(url)
    basemap_moves, peer_tiles = _basemap_alone(browser, url)
    summary_ms = next((round(q) for path, q, _ in first if path.endswith("/summary")), None)
    tile_ms = [round(q) for path, q, _ in first if path.endswith(".mvt")]
    return {"first_render_ms": state["firstRenderMs"], "accidents": state["counts"]["accidents"],
            "phases_ms": state.get("phases"), "summary_request_ms": summary_ms,
            "first_tiles": len(tile_ms),
            "tile_request_ms_median": statistics.median(tile_ms) if tile_ms else None,
            **every_tile, "moves": moves,
            "basemap_only_moves": basemap_moves,
            "basemap_only_tiles": peer_tiles}


def _basemap_alone(browser: Any, url: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The peer: MapLibre drawing the basemap alone (every data layer hidden as soon as
    the map is ready), in a fresh context (no browser cache, as ours had), through the
    same moves: what the renderer and the basemap cost with nothing of ours on the map.
    Its tile requests are timed as ours are."""
    requests: list[Timed] = []
    server_tile_times(url)
    ctx, page = _open_map(browser, url, requests)
    page.evaluate("""() => { const map = window.__map;
        for (const layer of map.getStyle().layers) {
            if (!["basemap", "admin", undefined].includes(layer.source))
                map.setLayoutProperty(layer.id, "visibility", "none");
        } }""")
    page.wait_for_function("window.__map.loaded()", polling=50)
    moves = _moves(page)
    tiles = _tiles(requests)
    ctx.close()
    tiles["tile_server_ms_all"] = server_tile_times(url)
    return moves, tiles


def _moves(page: Any) -> list[dict[str, Any]]:
    """Each camera move of MOVES timed to the map's next "idle", with the frames the map
    painted on the way (its "render" events, less those whose paint frame_hold.js skipped):
    in a browser drawing in software each costs 40-50 ms, so their number explains most of
    a move's time (issue 21)."""
    moves = []
    for name, js in MOVES:
        ms, renders, skipped = page.evaluate(f"""() => new Promise(resolve => {{
            const map = window.__map; const t = performance.now(); let frames = 0;
            const skippedBefore = map.unsettledPaintsSkipped || 0;
            const count = () => {{ frames++; }};
            map.on('render', count);
            map.once('idle', () => {{
                map.off('render', count);
                resolve([performance.now() - t, frames,
                         (map.unsettledPaintsSkipped || 0) - skippedBefore]); }});
            {js};
        }})""")
        moves.append({"move": name, "ms": round(ms, 1), "frames": int(renders - skipped),
                      "render_events": int(renders)})
    return moves


def timed_get(url: str) -> tuple[float, int]:
    import urllib.request

    t = time.perf_counter()
    with urllib.request.urlopen(url) as r:
        size = len(r.read())
    return time.perf_counter() - t, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accidents", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=RESULTS / "web_bench.json")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with workdir(args.workdir, "web-bench") as work:
        store = work / f"accidents-{args.accidents}.gpkg"
        built = None
        if not store.exists():
            built = build_store(store, args.accidents)
            print(f"store with {args.accidents:,} accidents built in {built:.1f} s")
        load_before = load_average()
        print(f"load average before: {load_before}")
        server, url = serve(store, work / "uploads")
        runs = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            for i in range(args.repeat):
                run = measure(browser, url)
                run["server_cache"] = "cold" if i == 0 else "warm"
                runs.append(run)
                moves = ", ".join(f"{m['move']} {m['ms']:.0f} ms ({m['frames']} frames)"
                                  for m in run["moves"])
                print(f"run {i + 1} ({run['server_cache']} server cache): first render "
                      f"{run['first_render_ms'] / 1000:.2f} s ({run['accidents']:,} "
                      f"accidents; summary request {run['summary_request_ms']} ms, "
                      f"{run['first_tiles']} tiles, median {run['tile_request_ms_median']} "
                      f"ms); {moves}")
                print(f"   phases (ms since navigation start): {run['phases_ms']}")
                floor = ", ".join(f"{m['move']} {m['ms']:.0f} ms"
                                  for m in run["basemap_only_moves"])
                print(f"   peer, the basemap alone (fresh context): {floor}")
            browser.close()
        import json
        import urllib.request

        with urllib.request.urlopen(url + "/web/api/layers/accidents/summary") as r:
            layer_summary = json.load(r)
        summary_s, _ = timed_get(url + "/web/api/layers/accidents/summary")
        tile_url = url + layer_summary["tiles"].replace("{z}/{x}/{y}", "5/9/15")
        tile_s, tile_bytes = timed_get(tile_url)
        layer_s, size = timed_get(url + "/web/api/layers/accidents")
        print(f"/web/api/layers/accidents/summary (warm): {summary_s * 1000:.0f} ms; "
              f"tile 5/9/15: {tile_bytes:,} bytes in {tile_s * 1000:.0f} ms; "
              f"/web/api/layers/accidents (all points as columns): {size / 1e6:.1f} MB in "
              f"{layer_s:.2f} s")
        tile_cpu = server_cpu_per_tile(server.pid, url, layer_summary["tiles"])
        print("server CPU a warm tile, asked one after another (ms): " + ", ".join(
            f"{source} {ms}" for source, ms in tile_cpu.items()))
        server.terminate()
        server.join()
        load_after = load_average()
    first = [r["first_render_ms"] for r in runs]
    move_ms = [m["ms"] for r in runs for m in r["moves"]]
    floor_ms = [m["ms"] for r in runs for m in r["basemap_only_moves"]]
    # Tiles the browser fetched (vector: ours and the basemap's), warm runs, as Playwright
    # timed them: "queued" from when the page issued the request (the wait for a free
    # connection counts: 6 per host over HTTP/1.1, so a burst of 40 tiles waits its turn),
    # "wire" from when it left the browser to its last byte. The 50 ms target is checked
    # against the wire figure, the tile's own time; the queued one is kept beside it.
    def p99(key: str, peer: bool = False) -> float | None:
        ms = sorted(v for r in runs[1:]
                    for v in (r["basemap_only_tiles"] if peer else r)[key] if v >= 0)
        return ms[min(len(ms) - 1, int(0.99 * len(ms)))] if ms else None

    server_p99 = p99("tile_server_ms_all")
    peer_server_p99 = p99("tile_server_ms_all", peer=True)
    tile_p99 = p99("tile_request_ms_all")
    wire_p99 = p99("tile_wire_ms_all")
    peer_tile_p99 = p99("tile_request_ms_all", peer=True)
    peer_wire_p99 = p99("tile_wire_ms_all", peer=True)
    warm_tiles = [v for r in runs[1:] for v in r["tile_wire_ms_all"] if v >= 0]
    summary = {
        "first_render_s_median": round(statistics.median(first) / 1000, 2),
        "tile_server_cpu_ms": tile_cpu,
        "first_render_s_min": round(min(first) / 1000, 2),
        "first_render_s_max": round(max(first) / 1000, 2),
        "first_render_s_cold_server": round(first[0] / 1000, 2),
        "summary_request_ms_cold": runs[0]["summary_request_ms"],
        "pan_zoom_ms_median": round(statistics.median(move_ms), 1),
        "pan_zoom_frames_mean": round(statistics.mean(
            m["frames"] for r in runs for m in r["moves"]), 2),
        "pan_zoom_frames_mean_basemap_only_peer": round(statistics.mean(
            m["frames"] for r in runs for m in r["basemap_only_moves"]), 2),
        "pan_zoom_ms_max": round(max(move_ms), 1),
        "pan_zoom_ms_median_basemap_only_peer": round(statistics.median(floor_ms), 1),
        "pan_zoom_x_basemap_only": round(statistics.median(move_ms)
                                         / statistics.median(floor_ms), 2),
        "target_pan_zoom_ms": TARGET_PAN_ZOOM_MS,
        "tile_request_ms_p99_warm": tile_p99, "tiles_timed_warm": len(warm_tiles),
        "tile_wire_ms_p99_warm": wire_p99,
        "tile_request_ms_p99_warm_basemap_only_peer": peer_tile_p99,
        "tile_wire_ms_p99_warm_basemap_only_peer": peer_wire_p99,
        "tile_server_ms_p99_warm": server_p99,
        "tile_server_ms_p99_warm_basemap_only_peer": peer_server_p99,
        "target_tile_p99_ms": TARGET_TILE_P99_MS,
        "tile_target_checked_against": "tile_wire_ms_p99_warm",
        "meets_tile_target": wire_p99 is not None and wire_p99 < TARGET_TILE_P99_MS,
        "meets_pan_zoom_target": statistics.median(move_ms) < TARGET_PAN_ZOOM_MS,
        "target_first_render_s": TARGET_FIRST_RENDER_S,
        "meets_target": statistics.median(first) / 1000 < TARGET_FIRST_RENDER_S,
    }
    print(f"first render: median {summary['first_render_s_median']} s, min "
          f"{summary['first_render_s_min']} s, max {summary['first_render_s_max']} s, cold "
          f"server {summary['first_render_s_cold_server']} s (target < "
          f"{TARGET_FIRST_RENDER_S} s: "
          f"{'met' if summary['meets_target'] else 'NOT met'}); pan/zoom to idle: median "
          f"{summary['pan_zoom_ms_median']} ms, max {summary['pan_zoom_ms_max']} ms "
          f"(target < {TARGET_PAN_ZOOM_MS} ms: "
          f"{'met' if summary['pan_zoom_ms_median'] < TARGET_PAN_ZOOM_MS else 'NOT met'}); "
          f"peer, the basemap alone: median {summary['pan_zoom_ms_median_basemap_only_peer']} "
          f"ms (ours {summary['pan_zoom_x_basemap_only']}x); frames painted a move: ours "
          f"{summary['pan_zoom_frames_mean']}, peer "
          f"{summary['pan_zoom_frames_mean_basemap_only_peer']} (mean)")
    print(f"tiles, warm runs, p99 on the wire (request sent to last byte): ours {wire_p99} ms "
          f"of {len(warm_tiles)} tiles, peer {peer_wire_p99} ms (target < "
          f"{TARGET_TILE_P99_MS} ms, checked against this figure: "
          f"{'met' if summary['meets_tile_target'] else 'NOT met'}); p99 from when the page "
          f"issued the request (the browser's connection queue included): ours {tile_p99} ms, "
          f"peer {peer_tile_p99} ms; p99 in the server (arrival to last byte written): ours "
          f"{server_p99} ms, peer {peer_server_p99} ms")
    print(f"load average after: {load_after}")
    write_json(args.out, {"benchmark": "web_bench", "at": stamp(), "machine": machine(),
                          "load_average": load_after, "load_average_before": load_before,
                          "accidents": args.accidents, "store_build_s": built,
                          "summary_request_s_warm": round(summary_s, 3),
                          "tile_request_s": round(tile_s, 3), "tile_bytes": tile_bytes,
                          "layer_request_s": round(layer_s, 3), "layer_bytes": size,
                          "runs": runs, "summary": summary})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
