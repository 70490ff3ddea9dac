"""Web map benchmark: time to first map render and to pan/zoom with N accidents (default
100,000) in headless Chromium (Debian's /usr/bin/chromium, through Playwright).

    python bench/web_bench.py [--accidents 100000] [--repeat 3] [--workdir DIR]

Builds a GeoPackage store with N synthetic accidents spread over Colombia's municipalities
(bench/synthetic.py), serves the app (API + mount_web) with uvicorn on 127.0.0.1, and for
each repeat opens the map in a fresh browser context (no cache) as the public would, then:
- first render: from navigation start to the map's first "idle" with every accident
  loaded (window.__mapState.firstRenderMs, measured in the page);
- pan and zoom: a sequence of 6 camera moves (zoom in twice, pan, zoom out), each timed
  to the map's next "idle".
Prints the figures and writes bench/results/web_bench.json. Target (issue 4): first
render under 3 s.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, load_average, machine, stamp, workdir, write_json  # noqa: E402
from synthetic import accident_points  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TARGET_FIRST_RENDER_S = 3.0


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


def serve(store: Path, upload: Path) -> tuple[Any, str]:
    import socket

    import uvicorn

    from mineaction.api.app import create_app
    from mineaction.api.settings import load_settings
    from mineaction.web import mount_web

    settings = load_settings(store=str(store), upload_dir=upload)
    app = create_app(settings)
    mount_web(app, settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


MOVES = [("zoom in", "map.zoomTo(map.getZoom() + 2, {duration: 0})"),
         ("zoom in", "map.zoomTo(map.getZoom() + 2, {duration: 0})"),
         ("pan east", "map.panBy([400, 0], {duration: 0})"),
         ("pan south", "map.panBy([0, 300], {duration: 0})"),
         ("zoom out", "map.zoomTo(map.getZoom() - 3, {duration: 0})"),
         ("zoom out", "map.zoomTo(map.getZoom() - 2, {duration: 0})")]


def measure(browser: Any, url: str) -> dict[str, Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(("http://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    ctx.route("**/*", only_loopback)
    page = ctx.new_page()
    page.goto(url + "/")
    page.wait_for_function("window.__mapState && window.__mapState.ready", timeout=120_000)
    state = page.evaluate("window.__mapState")
    moves = []
    for name, js in MOVES:
        ms = page.evaluate(f"""() => new Promise(resolve => {{
            const map = window.__map; const t = performance.now();
            map.once('idle', () => resolve(performance.now() - t)); {js};
        }})""")
        moves.append({"move": name, "ms": round(ms, 1)})
    ctx.close()
    return {"first_render_ms": state["firstRenderMs"], "accidents": state["counts"]["accidents"],
            "moves": moves}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accidents", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
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
        server, url = serve(store, work / "uploads")
        t = time.perf_counter()
        import urllib.request

        with urllib.request.urlopen(url + "/web/api/layers/accidents") as r:
            size = len(r.read())
        layer_s = time.perf_counter() - t
        print(f"/web/api/layers/accidents: {size / 1e6:.1f} MB in {layer_s:.2f} s")
        runs = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            for i in range(args.repeat):
                run = measure(browser, url)
                runs.append(run)
                moves = ", ".join(f"{m['move']} {m['ms']:.0f} ms" for m in run["moves"])
                print(f"run {i + 1}: first render {run['first_render_ms'] / 1000:.2f} s "
                      f"({run['accidents']:,} accidents); {moves}")
            browser.close()
        server.should_exit = True
    first = [r["first_render_ms"] for r in runs]
    move_ms = [m["ms"] for r in runs for m in r["moves"]]
    summary = {
        "first_render_s_median": round(statistics.median(first) / 1000, 2),
        "first_render_s_max": round(max(first) / 1000, 2),
        "pan_zoom_ms_median": round(statistics.median(move_ms), 1),
        "pan_zoom_ms_max": round(max(move_ms), 1),
        "target_first_render_s": TARGET_FIRST_RENDER_S,
        "meets_target": statistics.median(first) / 1000 < TARGET_FIRST_RENDER_S,
    }
    print(f"first render: median {summary['first_render_s_median']} s, max "
          f"{summary['first_render_s_max']} s (target < {TARGET_FIRST_RENDER_S} s: "
          f"{'met' if summary['meets_target'] else 'NOT met'}); pan/zoom to idle: median "
          f"{summary['pan_zoom_ms_median']} ms, max {summary['pan_zoom_ms_max']} ms")
    write_json(args.out, {"benchmark": "web_bench", "at": stamp(), "machine": machine(),
                          "load_average": load_average(), "accidents": args.accidents,
                          "store_build_s": built, "layer_request_s": round(layer_s, 3),
                          "layer_bytes": size, "runs": runs, "summary": summary})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
