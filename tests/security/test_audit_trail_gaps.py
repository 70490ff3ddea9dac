"""Gaps in the audit trail (issue 15, item 8), each as the attack was made and what
`verify` says now: an import no longer hides earlier records from the check; history,
reviews and users are covered by the chain; an emptied or cut-back log does not verify;
PATCH and 412 answers with personal data are logged reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from api_helpers import Api, accident, victim

from mineaction.audit.anchor import ANCHOR_ENV, parse_checkpoint
from mineaction.audit.log import attach, verify
from mineaction.audit.schema import AUDIT_LOG, REVIEWS
from mineaction.auth.schema import ensure_server_tables
from mineaction.auth.users import UserDirectory
from mineaction.domain.models import Accident
from mineaction.io.pipeline import import_file
from mineaction.store import Store, open_store
from mineaction.store.gpkg import register_functions

Raw = Callable[..., None]


@pytest.fixture
def anchor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An anchor file for both stores (PostGIS has one only when given a path)."""
    path = tmp_path / "kept" / "store.audit-anchor"
    path.parent.mkdir()
    monkeypatch.setenv(ANCHOR_ENV, str(path))
    return path


@pytest.fixture
def audited(store_location: str, anchor: Path) -> Iterator[Store]:
    s = open_store(store_location)
    ensure_server_tables(s)
    attach(s)
    try:
        yield s
    finally:
        s.close()


def _raw(store: Store) -> Raw:
    """SQL run on the file or database directly, as by someone bypassing mineaction."""
    if store.dialect == "gpkg":
        def run(sql: str, params: tuple[Any, ...] = ()) -> None:
            with sqlite3.connect(store.location) as conn:
                register_functions(conn)
                conn.execute(sql, params)
    else:
        def run(sql: str, params: tuple[Any, ...] = ()) -> None:
            with psycopg.connect(store.location, autocommit=True) as conn:
                conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
    return run


def _problems(store: Store, **kw: Any) -> list[str]:
    report = verify(store, **kw)
    assert not report.ok, "verify passed a tampered store"
    return report.problems


def _says(problems: list[str], text: str) -> bool:
    return any(text in p for p in problems)


def _import(store: Store, tmp_path: Path, rows: list[tuple[str, str]], name: str) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text("external_id,narrative\n" + "".join(f"{e},{n}\n" for e, n in rows))
    report = import_file(store, path, kind="accident", dataset="register", user="importer")
    assert report.committed and not report.errors, report.error_lines()


# -- an import of a kind stopped the check of every earlier record of that kind -----------
def test_an_import_does_not_stop_checking_earlier_api_written_records(
        audited: Store, tmp_path: Path) -> None:
    rec = audited.add(Accident(narrative="reported through the API"), by="alice")
    _import(audited, tmp_path, [("A-1", "from the register")], "first")
    assert verify(audited).ok
    _raw(audited)("UPDATE accidents SET narrative = ? WHERE id = ?", ("forged", str(rec.id)))
    _import(audited, tmp_path, [("A-2", "a later release")], "second")
    assert _says(_problems(audited), f"accident {rec.id}: stored content differs")


@pytest.mark.parametrize("forged", [False, True])
def test_a_record_an_import_changed_is_checked_up_to_that_import(
        audited: Store, tmp_path: Path, forged: bool) -> None:
    rec = audited.add(Accident(narrative="first report", dataset="register",
                               external_id="A-1"), by="alice")
    if forged:  # edited directly, then laundered by a re-import of the same record
        _raw(audited)("UPDATE accidents SET narrative = ? WHERE id = ?",
                      ("forged", str(rec.id)))
    _import(audited, tmp_path, [("A-1", "corrected by the register")], "release")
    assert audited.get("accident", rec.id).narrative == "corrected by the register"
    if not forged:
        report = verify(audited)
        assert report.ok, report.problems
    else:
        assert _says(_problems(audited), f"accident {rec.id}: stored content differs")


def test_a_direct_edit_hidden_by_an_import_is_caught_at_the_next_write(
        audited: Store, tmp_path: Path) -> None:
    rec = audited.add(Accident(narrative="one"), by="alice")
    _raw(audited)("UPDATE accidents SET narrative = ? WHERE id = ?", ("forged", str(rec.id)))
    _import(audited, tmp_path, [("A-9", "unrelated")], "release")
    current = audited.get("accident", rec.id)
    audited.update(current.model_copy(update={"narrative": "two"}), expected_version=1,
                   by="bob")
    assert _says(_problems(audited), "was changed outside the audit trail before this write")


# -- users, reviews and record history were not covered ------------------------------------
@pytest.mark.parametrize("attack", ["raise_to_admin", "enable", "move_organisation",
                                    "set_password", "insert", "delete"])
def test_a_user_changed_directly_in_the_database_is_caught(audited: Store,
                                                           attack: str) -> None:
    users = UserDirectory(audited)
    users.add("eve", "correct horse battery", "viewer")
    users.add("off", "correct horse battery", "editor")
    users.disable("off")
    assert verify(audited).ok
    run = _raw(audited)
    expected = {"raise_to_admin": "user eve was changed outside the audit trail: "
                                  "role 'viewer' -> 'admin'",
                "enable": "user off was changed outside the audit trail: disabled True -> "
                          "False",
                "move_organisation": "organisation_id None -> 'other'",
                "set_password": "user eve was changed outside the audit trail: password",
                "insert": "user mallory (admin) was added outside the audit trail",
                "delete": "user eve was removed outside the audit trail"}[attack]
    if attack == "raise_to_admin":
        run("UPDATE users SET role = 'admin' WHERE username = 'eve'")
    elif attack == "enable":
        run("UPDATE users SET disabled = ? WHERE username = 'off'", (False,))
    elif attack == "move_organisation":
        run("UPDATE users SET organisation_id = 'other' WHERE username = 'eve'")
    elif attack == "set_password":
        run("UPDATE users SET password_hash = (SELECT password_hash FROM users "
            "WHERE username = 'off') WHERE username = 'eve'")
    elif attack == "insert":
        run("INSERT INTO users (id, username, password_hash, role, disabled, created_at, "
            "updated_at) SELECT 'x-' || id, 'mallory', password_hash, 'admin', disabled, "
            "created_at, updated_at FROM users WHERE username = 'eve'")
    else:
        run("DELETE FROM users WHERE username = 'eve'")
    assert _says(_problems(audited), expected)


def test_a_user_changed_directly_then_changed_through_mineaction_is_caught(
        audited: Store) -> None:
    users = UserDirectory(audited)
    users.add("eve", "correct horse battery", "viewer")
    _raw(audited)("UPDATE users SET role = 'admin' WHERE username = 'eve'")
    users.set_organisation("eve", "org-1")  # a legitimate write does not launder it
    assert _says(_problems(audited), "user eve was changed outside the audit trail before "
                                     "this write")


def test_user_changes_through_mineaction_verify(audited: Store) -> None:
    users = UserDirectory(audited)
    users.add("eve", "correct horse battery", "viewer")
    users.set_role("eve", "admin")
    users.disable("eve")
    users.set_password("eve", "another horse battery")
    report = verify(audited)
    assert report.ok, report.problems


def _review(store: Store, reason: str) -> None:
    with store.transaction() as conn:  # as services/records.py writes one
        conn.execute(REVIEWS.insert().values(
            record_kind="accident", record_id="a1", version=2, action="reject",
            reason=reason, by="approver", at=datetime.now(UTC)))


@pytest.mark.parametrize("attack", ["edit", "delete", "insert"])
def test_a_review_note_changed_directly_is_caught(audited: Store, attack: str) -> None:
    _review(audited, "the coordinates are in the sea")
    _review(audited, "no date")
    assert verify(audited).ok
    run = _raw(audited)
    if attack == "edit":
        run("UPDATE record_reviews SET reason = 'approved after all' WHERE reason = 'no date'")
        expected = "record_reviews rows"
    elif attack == "delete":
        run("DELETE FROM record_reviews WHERE reason = 'no date'")
        expected = "record_reviews rows"
    else:
        run("INSERT INTO record_reviews (record_kind, record_id, version, action, reason, "
            "by, at) SELECT record_kind, record_id, version + 1, 'approve', NULL, 'mallory', "
            "at FROM record_reviews WHERE reason = 'no date'")
        expected = "record_reviews: 1 row added outside the audit trail"
    assert _says(_problems(audited), expected)


@pytest.mark.parametrize("attack", ["edit", "delete", "insert"])
def test_record_history_changed_directly_is_caught(audited: Store, attack: str) -> None:
    rec = audited.add(Accident(narrative="one"), by="alice")
    rec = audited.update(rec.model_copy(update={"narrative": "two"}), expected_version=1,
                         by="bob")
    assert verify(audited).ok
    run = _raw(audited)
    if attack == "edit":  # rewrite what the record said before
        run("UPDATE record_history SET superseded_by = 'carol'")
        expected = "record_history rows"
    elif attack == "delete":
        run("DELETE FROM record_history")
        expected = "record_history rows"
    else:
        run("INSERT INTO record_history (record_kind, record_id, version, data, "
            "superseded_at, superseded_by, action) SELECT record_kind, record_id, 7, data, "
            "superseded_at, 'mallory', 'import' FROM record_history")
        expected = "record_history: 1 row added outside the audit trail"
    assert _says(_problems(audited), expected)


# -- an emptied or cut-back log verified as intact -----------------------------------------
def _activity(store: Store) -> None:
    UserDirectory(store).add("eve", "correct horse battery", "editor")
    rec = store.add(Accident(narrative="one"), by="eve")
    store.update(rec.model_copy(update={"narrative": "two"}), expected_version=1, by="eve")


def test_an_emptied_audit_log_does_not_verify(audited: Store) -> None:
    _activity(audited)
    assert verify(audited).ok
    _raw(audited)("DELETE FROM audit_log")
    assert _says(_problems(audited), "cut off the end or the log was emptied")
    # Without the anchor too: the store holds users and history the log never sealed.
    assert _says(_problems(audited, anchor=None), "the audit log was emptied or replaced")


def test_an_emptied_audit_log_is_not_covered_again_on_restart(audited: Store,
                                                             anchor: Path) -> None:
    _activity(audited)
    _raw(audited)("DELETE FROM audit_log")
    anchor.unlink()  # the attacker removed the anchor too
    with open_store(audited.location) as again:
        attach(again)  # a restart: the baseline is not laid again over the emptied log
        again.add(Accident(narrative="after"), by="eve")
        assert _says(_problems(again, anchor=None), "the audit log was emptied or replaced")


def test_a_log_cut_back_does_not_verify_against_its_anchor(audited: Store) -> None:
    _activity(audited)
    report = verify(audited)
    assert report.ok and not report.notes, report
    _raw(audited)("DELETE FROM audit_log WHERE fid > ?", (report.last_seq - 2,))
    assert _says(_problems(audited), f"shows entry {report.last_seq} existed")


def test_a_log_emptied_and_begun_again_does_not_verify_against_a_kept_checkpoint(
        audited: Store) -> None:
    _activity(audited)
    kept = parse_checkpoint(verify(audited).checkpoint)
    _raw(audited)("DELETE FROM audit_log")
    for n in range(kept.seq + 3):  # a new chain, longer than the old one
        audited.add(Accident(narrative=f"new {n}"), by="eve")
    problems = _problems(audited, against=[kept], anchor=None)
    assert _says(problems, f"entry {kept.seq} is not the one checkpoint recorded")


def test_the_anchor_follows_every_audited_write(audited: Store, anchor: Path) -> None:
    _activity(audited)
    report = verify(audited)
    assert anchor.read_text().split()[0] == report.checkpoint
    with audited.engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(AUDIT_LOG.c.fid))).scalar()
    assert report.last_seq == last


# -- personal data in PATCH and 412 answers was not logged ----------------------------------
def _reads(api: Api, record_id: str) -> int:
    with api.services.store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(
            AUDIT_LOG.c.action == "read_personal", AUDIT_LOG.c.record_kind == "victim",
            AUDIT_LOG.c.detail.contains(record_id))).scalar() or 0)


def test_personal_data_in_patch_and_412_answers_are_logged_reads(api: Api) -> None:
    editor = api.as_("editor")
    acc = editor.post("/api/v1/accidents", json=accident()).json()
    v = editor.post("/api/v1/victims", json=victim(acc["id"])).json()
    url = f"/api/v1/victims/{v['id']}"
    before = _reads(api, v["id"])
    done = editor.patch(url, json={"outcome": "killed"}, headers={"If-Match": '"1"'})
    assert done.status_code == 200 and done.json()["name"] == "Ana Pérez"
    assert _reads(api, v["id"]) == before + 1
    stale = editor.patch(url, json={"outcome": "injured"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and "Ana Pérez" in stale.text
    assert _reads(api, v["id"]) == before + 2


def test_the_api_verifies_against_a_kept_checkpoint(api: Api) -> None:
    admin = api.as_("admin")
    editor = api.as_("editor")
    editor.post("/api/v1/accidents", json=accident())
    first = admin.get("/api/v1/audit/verify").json()
    assert first["ok"] is True, first
    kept = first["checkpoint"]
    editor.post("/api/v1/accidents", json=accident())
    again = admin.get("/api/v1/audit/verify", params={"against": kept}).json()
    assert again["ok"] is True and again["checkpoint"] != kept  # the log grew; still fine
    _raw(api.services.store)("DELETE FROM audit_log WHERE fid > ?",
                             (int(kept.split(":")[0]) - 1,))
    cut = admin.get("/api/v1/audit/verify", params={"against": kept}).json()
    assert cut["ok"] is False and _says(cut["problems"], "cut off the end")
    assert admin.get("/api/v1/audit/verify", params={"against": "nonsense"}
                     ).status_code == 422
