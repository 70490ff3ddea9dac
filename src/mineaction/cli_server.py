"""Server commands of `mineaction`: serve, user, token, audit. Thin shells over api/, auth/
and audit/; registered in cli.py.

Every command takes --store (or MINEACTION_STORE), like the other commands.
"""

from __future__ import annotations

import getpass
import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from mineaction.cli_common import DEFAULT_STORE, StoreOption
from mineaction.cli_common import fail as _fail
from mineaction.cli_i18n import _, ngettext, num

user_app = typer.Typer(help="Users of the server and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for scripts.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


def _store(location: str) -> Any:
    from mineaction.audit.log import attach
    from mineaction.auth.schema import ensure_server_tables
    from mineaction.store import open_store

    try:
        store = open_store(location)
    except Exception as exc:  # noqa: BLE001 -- any driver error: say where, no traceback
        _fail(_("cannot open store {location}: {problem}").format(location=location,
                                                                  problem=exc))
    ensure_server_tables(store)
    return attach(store)


def _users(store: Any) -> Any:
    from mineaction.auth.users import UserDirectory

    return UserDirectory(store)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default "
                                             "127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default 1); more "
                                                "than one suits the PostGIS store.")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config file (see docs/server.md)"
                                                ".", envvar="MINEACTION_CONFIG")] = None,
    access_log: Annotated[bool | None, typer.Option(
        "--access-log/--no-access-log", help="Log every request (default: on).")] = None,
    backlog: Annotated[int | None, typer.Option(help="Connections allowed to wait for "
                                                "accept (default 2048).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Serve the HTTP API (and its docs at /api/v1/docs) over the store."""
    from mineaction.services.settings import CONFIG_ENV, load_settings

    try:
        settings = load_settings(config, store=store, host=host, port=port, workers=workers,
                                 access_log=access_log, backlog=backlog)
    except Exception as exc:  # noqa: BLE001 -- a bad setting: say which, no traceback
        _fail(_("settings: {problem}").format(problem=exc), 2)
    s = _store(settings.store)  # create the schema once, before workers race to
    s.close()
    # Workers build their app from the environment (uvicorn's factory mode).
    os.environ["MINEACTION_STORE"] = settings.store
    if config:
        os.environ[CONFIG_ENV] = str(config)
    # uvicorn believes X-Forwarded-For from the addresses in FORWARDED_ALLOW_IPS, by
    # default 127.0.0.1: any local process could then choose the client address the
    # sign-in limit counts by. Only the configured proxies now; none by default.
    os.environ["FORWARDED_ALLOW_IPS"] = ",".join(settings.trusted_proxies)
    typer.echo(ngettext("serving {store} on {url} ({n} worker)",
                        "serving {store} on {url} ({n} workers)", settings.workers).format(
        store=settings.store, url=f"http://{settings.host}:{settings.port}/api/v1",
        n=settings.workers))
    from mineaction.api.serving import run

    try:
        run(settings)
    except OSError as exc:
        _fail(_("cannot listen on {address}: {problem}").format(
            address=f"{settings.host}:{settings.port}", problem=exc), 1)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, approver, editor, field or viewer.")],
    organisation: Annotated[str | None, typer.Option(help="Organisation id (scopes "
                                                     "edits).")] = None,
    password: Annotated[str | None, typer.Option(
        envvar="MINEACTION_PASSWORD", help="Password (default: asked; env "
        "MINEACTION_PASSWORD for scripts).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Add a user."""
    from mineaction.auth.users import AuthError

    if password is None:
        password = getpass.getpass("password: ")
    with _store(store) as s:
        try:
            user = _users(s).add(username, password, role, organisation)
        except AuthError as exc:
            _fail(str(exc), 2)
        from mineaction.audit.log import log_event

        log_event(s, "cli", "user_add", {"username": username, "role": role})
    typer.echo(_("added {user} ({role})").format(user=user.username, role=user.role))


@user_app.command("list")
def user_list(store: StoreOption = DEFAULT_STORE) -> None:
    """List users."""
    with _store(store) as s:
        for u in _users(s).list():
            state = _("disabled") if u.disabled else _("active")
            typer.echo(f"{u.username:<24} {u.role:<9} {state:<8} {u.organisation_id or ''}")


@user_app.command("set-role")
def user_set_role(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Argument(help="admin, approver, editor, field or viewer.")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Change a user's role."""
    from mineaction.audit.log import log_event
    from mineaction.auth.users import AuthError

    with _store(store) as s:
        try:
            user = _users(s).set_role(username, role)
        except AuthError as exc:
            _fail(str(exc), 2)
        log_event(s, "cli", "user_change", {"username": username, "changed": ["role"]})
    typer.echo(_("{user} is now {role}").format(user=user.username, role=user.role))


@user_app.command("disable")
def user_disable(
    username: Annotated[str, typer.Argument(help="Login name.")],
    enable: Annotated[bool, typer.Option(help="Enable again instead.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Disable a user (their sessions and tokens stop working at once)."""
    from mineaction.audit.log import log_event
    from mineaction.auth.users import AuthError

    with _store(store) as s:
        try:
            _users(s).disable(username, not enable)
        except AuthError as exc:
            _fail(str(exc), 2)
        log_event(s, "cli", "user_change", {"username": username, "changed": ["disabled"]})
    typer.echo(_("{user} enabled").format(user=username) if enable
               else _("{user} disabled").format(user=username))


@token_app.command("create")
def token_create(
    username: Annotated[str, typer.Argument(help="Whose token.")],
    name: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    days: Annotated[float | None, typer.Option(help="Lifetime in days (default: no "
                                               "expiry).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Create an API token (printed once; send it as `Authorization: Bearer TOKEN`)."""
    from mineaction.auth.users import AuthError

    with _store(store) as s:
        users = _users(s)
        try:
            user = users.get(username)
        except AuthError as exc:
            _fail(str(exc), 2)
        if user.disabled:
            _fail(_("{user} is disabled").format(user=username), 2)
        secret, made = users.issue_credential(
            user, "token", name=name, lifetime=timedelta(days=days) if days else None)
        from mineaction.audit.log import log_event

        log_event(s, "cli", "token_create", {"username": username, "token": made.fid,
                                             "name": name, "expires_at": made.expires_at})
    typer.echo(secret)


@token_app.command("list")
def token_list(
    username: Annotated[str | None, typer.Argument(help="Whose tokens (default: "
                                                   "everyone's).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """List live API tokens: id, user, name, created, expires, made with (never secrets)."""
    from mineaction.auth.users import AuthError

    with _store(store) as s:
        users = _users(s)
        try:
            user = users.get(username) if username else None
        except AuthError as exc:
            _fail(str(exc), 2)
        found = users.tokens(user)
    for c in found:
        expires = c.expires_at.strftime("%Y-%m-%d %H:%M") if c.expires_at else _("never")
        made_with = _("made with {token}").format(token=c.parent_fid) if c.parent_fid else ""
        typer.echo((f"{c.fid:<6} {c.username:<20} {c.name or '-':<24} "
                    f"{c.created_at:%Y-%m-%d %H:%M}  "
                    + _("expires {when}").format(when=f"{expires:<16}")
                    + f" {made_with}").rstrip())


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (`token list`).")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Revoke one API token, and the tokens made with it; it stops working at once."""
    from mineaction.audit.log import log_event

    with _store(store) as s:
        ended = _users(s).revoke_token(token_id)
        if not ended:
            _fail(_("no live token {id}").format(id=token_id), 2)
        log_event(s, "cli", "token_revoke", {"token": token_id, "ended": ended})
    typer.echo(_("revoked token {id}").format(id=token_id)
               + (_(" and {n} made with it").format(n=ended - 1) if ended > 1 else ""))


@audit_app.command("verify")
def audit_verify(
    expected_head: Annotated[str | None, typer.Option(
        help="The head hash printed by an earlier verify, kept elsewhere: also catches "
        "entries cut off the end (the log may not have grown since).")] = None,
    against: Annotated[list[str] | None, typer.Option(
        help="A checkpoint SEQ:HASH printed by `--checkpoint`, or a file holding one: "
        "fails when the log no longer reaches that entry (cut back or emptied) or it "
        "changed. Repeatable.")] = None,
    checkpoint: Annotated[bool, typer.Option(
        "--checkpoint", help="Print the checkpoint of the newest entry (last line) to "
        "keep somewhere else.")] = False,
    anchor: Annotated[Path | None, typer.Option(
        help="The anchor file the server keeps (default: MINEACTION_AUDIT_ANCHOR, else "
        "STORE.audit-anchor beside a GeoPackage; PostGIS has none unless set).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Check the audit trail's hash chain and the audited records; exit 1 if tampered.

    Also record history, review notes and users, and that the log still reaches its anchor
    file and the checkpoints given (nothing cut off its end, not emptied)."""
    from mineaction.audit.anchor import parse_checkpoint, read_checkpoint_file
    from mineaction.audit.log import verify

    kept = []
    for given in against or []:
        try:
            path = Path(given)
            found = read_checkpoint_file(path) if path.is_file() else parse_checkpoint(given)
        except (ValueError, OSError) as exc:
            _fail(f"--against {given}: {exc}", 2)
        if found is None:
            _fail(_("--against {given}: no checkpoint in it").format(given=given), 2)
        kept.append(found)
    with _store(store) as s:
        report = verify(s, expected_head=expected_head, against=kept,
                        anchor=anchor if anchor is not None else True)
    for problem in report.problems:
        typer.echo(_("TAMPERED: {problem}").format(problem=problem), err=True)
    for note in report.notes:
        typer.echo(_("note: {note}").format(note=note), err=True)
    typer.echo(_("{entries} entries, {records} records checked, head {head}").format(
        entries=num(report.entries), records=num(report.records_checked), head=report.head))
    if not report.ok:
        _fail(_("the audit trail does not verify"))
    typer.echo(_("audit trail verified"))
    if checkpoint:
        typer.echo(report.checkpoint)


def share(
    out: Annotated[Path, typer.Argument(help="The copy to write, a GeoPackage (replaced "
                                       "if it exists).")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write a copy of the store to give away, without personal data or credentials."""
    from mineaction.auth.share import ShareError, share_copy

    with _store(store) as s:
        try:
            report = share_copy(s, out)
        except ShareError as exc:
            _fail(str(exc), 2)
        except OSError as exc:
            _fail(_("cannot write {path}: {problem}").format(path=out, problem=exc))
        from mineaction.audit.log import log_event

        log_event(s, "cli", "share", {"out": out.name, "dropped": report.dropped})
    emptied = sum(len(c) for c in report.emptied.values())
    typer.echo(_("wrote {path}: {tables} tables left out, {columns} columns of personal data "
                 "or authorship emptied").format(path=out, tables=len(report.dropped),
                                                 columns=emptied))




def register(app: typer.Typer) -> None:
    """Add the server commands to the `mineaction` command."""
    app.command("serve")(serve)
    app.command("share")(share)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(audit_app, name="audit")
