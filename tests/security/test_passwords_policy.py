"""Password policy (issue 15, 17): length was the only rule, so `basketball`,
`1qaz2wsx3edc` or the username followed by `2024!` were accepted. Now, after NIST SP
800-63B: no common password (a shipped list), no username, no one character or a few
repeated, no run of consecutive characters (auth/passwords.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from api_helpers import Api
from typer.testing import CliRunner

from mineaction.auth import passwords
from mineaction.auth.users import AuthError

REFUSED = {
    "basketball": "common", "1qaz2wsx3edc": "common", "LiverPool1": "common",
    "QWERTYUIOP": "common", "password123": "common", "iloveyou12": "common",
    "bea.moreno2024!": "username", "XXBEA.MORENOxx": "username",
    "aaaaaaaaaaaa": "one character", "............": "one character",
    "abcabcabcabc": "a few characters", "8686868686": "a few characters",
    "abcdefghijk": "consecutive", "zyxwvutsrqp": "consecutive", "qrstuvwxyz": "consecutive",
    "my mineaction pw": "name of this system", "short": "at least",
}
ACCEPTED = ["correct horse battery", "0123456789ab", "Sin información 2006",
            "tres tristes tigres", "b3a-field-notebook"]


def test_the_blocklist_ships_with_the_package() -> None:
    common = passwords.common_passwords()
    assert len(common) > 19_000 and "password" in common and "basketball" in common
    root = Path(__file__).resolve().parents[2]
    readme = (root / "src/mineaction/auth/data/README.md").read_text()
    assert "Royce Williams" in readme and "BSD-3-Clause" in readme
    package_data = tomllib.loads((root / "pyproject.toml").read_text()
                                 )["tool"]["setuptools"]["package-data"]["mineaction"]
    assert "auth/data/*" in package_data  # in the wheel, not only in a checkout


@pytest.mark.parametrize(("password", "why"), REFUSED.items())
def test_a_guessable_password_is_refused(password: str, why: str) -> None:
    problem = passwords.problem(password, "bea.moreno")
    assert problem is not None and why in problem


@pytest.mark.parametrize("password", ACCEPTED)
def test_a_good_password_is_accepted(password: str) -> None:
    assert passwords.problem(password, "bea.moreno") is None


def test_an_admin_cannot_set_a_common_password(api: Api) -> None:
    admin = api.as_("admin")
    r = admin.post("/api/v1/users", json={"username": "bea", "password": "basketball",
                                          "role": "viewer"})
    assert r.status_code == 422 and "common" in r.json()["message"]
    r = admin.post("/api/v1/users", json={"username": "bea", "password": "bea is my name",
                                          "role": "viewer"})
    assert r.status_code == 422 and "username" in r.json()["message"]
    assert admin.post("/api/v1/users", json={"username": "bea", "password": ACCEPTED[0],
                                             "role": "viewer"}).status_code == 201
    r = admin.patch("/api/v1/users/bea", json={"password": "qwertyuiop"})
    assert r.status_code == 422 and "common" in r.json()["message"]
    with pytest.raises(AuthError, match="repeated"):
        api.services.users.set_password("bea", "z" * 20)


def test_the_cli_refuses_a_common_password(tmp_path: Path) -> None:
    import typer

    from mineaction.cli_server import register

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    env = {"MINEACTION_STORE": str(tmp_path / "s.gpkg"), "MINEACTION_PASSWORD": "1qaz2wsx3edc"}
    r = CliRunner().invoke(app, ["user", "add", "ana", "--role", "editor"], env=env)
    assert r.exit_code == 2 and "common" in r.output
