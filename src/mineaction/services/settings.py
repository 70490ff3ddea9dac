"""Server settings: declared once with their help text, read from the environment
(MINEACTION_*) and an optional TOML config file, validated on load.

Precedence, highest first: arguments given to `load_settings`, environment variables, the
config file (MINEACTION_CONFIG or `mineaction serve --config`), the defaults below.
docs/server.md lists every setting; tests/api/test_docs.py checks it stays complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "MINEACTION_CONFIG"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINEACTION_", extra="forbid",
                                      validate_default=True)

    store: str = Field("mineaction.gpkg", description="GeoPackage path or postgresql:// URL.")
    host: str = Field("127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `serve` listens on.")
    workers: int = Field(1, ge=1, le=64, description="Worker processes for `serve` (use "
                         "more than one with the PostGIS store).")
    backlog: int = Field(2048, ge=1, le=65535, description="Connections `serve` lets "
                         "wait to be accepted (uvicorn's default of 2048).")
    access_log: bool = Field(True, description="Log every request (`serve`). Off saves "
                             "a few percent of a busy server's time; a proxy in front may "
                             "log instead.")
    threads: int = Field(15, ge=1, le=200, description="Requests one worker handles at "
                         "once in its thread pool; more wait their turn (quick reads, such "
                         "as GET by id, run on the event loop instead). The store keeps "
                         "this many connections open (and two more for background work).")
    organisation_scoping: bool = Field(True, description="Editors edit only records of "
                                       "their own organisation (records with an "
                                       "organisation_id).")
    cross_organisation_visibility: bool = Field(True, description="Users other than admins "
                                                "and approvers see other organisations' "
                                                "records.")
    max_request_bytes: int = Field(1_048_576, ge=1024, description="Largest request body "
                                   "accepted, except file uploads (413 beyond).")
    max_upload_bytes: int = Field(200 * 1_048_576, ge=1024, description="Largest import "
                                  "file accepted through the API.")
    default_page_size: int = Field(100, ge=1, le=10_000, description="Records per page "
                                   "when a list does not say.")
    max_page_size: int = Field(1000, ge=1, le=10_000, description="Largest `limit` a list "
                               "accepts.")
    ogc_nonspatial_collections: bool = Field(
        True, description="OGC API Features (/ogc) also offers the record kinds without "
        "a geometry (victims, activities, organisations, sources) as collections of "
        "features with a null geometry, as GeoJSON allows. Off: the spatial kinds only, "
        "for clients that refuse null geometries (docs/ogc-api.md).")
    session_hours: float = Field(12, gt=0, description="Lifetime of a browser session.")
    cookie_secure: bool = Field(False, description="Send the session cookie only over "
                                "HTTPS (set true behind a TLS proxy).")
    login_attempts: int = Field(5, ge=1, description="Failed logins allowed per client and "
                                "username within `login_window_seconds` (then 429).")
    login_window_seconds: int = Field(60, ge=1, description="Window of the login rate "
                                      "limit.")
    trusted_proxies: list[str] = Field([], description="Addresses (or networks, "
                                       "`10.0.0.0/8`) of reverse proxies whose "
                                       "`X-Forwarded-For` and `X-Forwarded-Proto` headers "
                                       "`serve` believes; the sign-in limit then counts "
                                       "per client address the proxy reports. Default "
                                       "none: the connecting address is the client's. "
                                       "In the environment: a JSON list.")
    upload_dir: Path | None = Field(None, description="Where uploaded import files wait "
                                    "for their commit (default: a folder in the system "
                                    "temp directory).")
    upload_keep_hours: float = Field(24, gt=0, description="Hours the upload of a finished "
                                     "dry run is kept for its commit; then it is deleted "
                                     "(upload it again to commit).")
    import_max_rows: int = Field(2_000_000, ge=0, description="Most rows one API import "
                                 "may have; beyond, it stops and writes nothing (0: no "
                                 "limit).")
    import_max_vertices: int = Field(100_000, ge=0, description="Most vertices one geometry "
                                     "of an API import may have; a row with more is an "
                                     "error naming file, row and field (0: no limit).")
    import_max_seconds: float = Field(3600, ge=0, description="Longest an API import may "
                                      "run, reading and checking included; beyond, it "
                                      "stops and writes nothing (0: no limit).")
    import_max_memory_mb: int = Field(2048, ge=0, description="Most memory an API import "
                                      "may add to its worker process, MB, checked after "
                                      "each chunk of rows; beyond, it stops and writes "
                                      "nothing (0: no limit).")
    public_location_decimals: int = Field(1, ge=0, le=3, description="Decimals of degrees "
                                          "kept in accident locations shown to the public "
                                          "(1 = about 11 km).")
    public_min_count: int = Field(5, ge=1, description="Casualty counts from 1 to this "
                                  "minus 1 are suppressed (with complementary cells) in "
                                  "statistics the public receives; 1 suppresses nothing.")
    argon2_time_cost: int = Field(3, ge=1, description="argon2id iterations for password "
                                  "hashes.")
    argon2_memory_kib: int = Field(65536, ge=8, description="argon2id memory for password "
                                   "hashes, KiB.")
    docs_enabled: bool = Field(True, description="Serve the interactive API docs at "
                               "/api/v1/docs.")
    country: str | None = Field(None, description="ISO 3166 code (COL or CO) of the country "
                                "the store covers: the map opens on it. Unset: on the store's "
                                "admin areas, or its approved records, leaving out outliers.")
    risk_layer: str | None = Field(None, description="Path of a contamination-risk "
                                   "GeoPackage (`mineaction risk predict`) the map shows as "
                                   "its Risk layer and /api/v1/risk serves. Unset: no risk "
                                   "layer.")
    public_risk_layer: bool = Field(False, description="Show the risk layer to the public "
                                    "too. Off by default: a fine risk grid is computed from "
                                    "exact accident locations, which the public only sees "
                                    "generalised.")
    basemap_file: str | None = Field(None, description="Path of an MBTiles or PMTiles file (vector "
                                     "`pbf` or raster `png`/`jpg`/`webp` tiles, e.g. an "
                                     "OpenStreetMap extract of the country) the map draws "
                                     "instead of the shipped Natural Earth basemap, served at "
                                     "/web/api/basemap/user/{z}/{x}/{y}. Unset: the shipped "
                                     "basemap.")
    opentelemetry: bool = Field(False, description="Trace, measure and log every request "
                                "with FastAPI's native OpenTelemetry, to the providers the "
                                "OTEL_* environment configures. Off, it costs nothing; on, "
                                "it looks for providers on every request.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from overrides, environment and the config file (if any)."""
    config_file = config_file or os.environ.get(CONFIG_ENV) or None
    cls: type[Settings] = Settings
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} not found")
        cls = type("FileSettings", (Settings,), {
            "model_config": SettingsConfigDict(**{**Settings.model_config,
                                                  "toml_file": path})})
    return cls(**{k: v for k, v in overrides.items() if v is not None})
