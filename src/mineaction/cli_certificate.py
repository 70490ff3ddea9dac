# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction certificate` (issue 20): verify a site check certificate, that is, whether
the evidence behind it (the records the public's site check used, as the public sees them)
is unchanged, and what changed since. Certificates are made by `mineaction site-check
--certificate`, the API and the web page, through services/certificates.py."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from mineaction.cli_common import DEFAULT_STORE, StoreOption, fail, open_audited
from mineaction.cli_i18n import _

certificate_app = typer.Typer(help="Site check certificates: verify one.", no_args_is_help=True)


@certificate_app.command("verify")
def verify(
    certificate_id: Annotated[str, typer.Argument(
        help="The certificate's id, as printed on it.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="The answer as JSON.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Whether the evidence behind a site check certificate is unchanged: each record it
    lists is read again as the public would read it, and the public site check is run
    again with the same site and parameters. A record changed (with the fields that
    changed), deleted, no longer public, or newly within reach of the site is reported;
    records out of reach and fields the public never sees are not evidence. Also checks
    that the certificate's stored evidence still matches its hash.

    Exit status: 0 when the evidence is unchanged and the stored evidence matches its
    hash, 1 when something changed or the stored evidence does not match, 2 for an
    unknown certificate.
    """
    from mineaction.access.roles import Policy
    from mineaction.services.certificates import Certificates
    from mineaction.services.errors import NotFoundError

    with open_audited(store) as s:
        try:
            result = Certificates(s, Policy()).verify(certificate_id)
        except NotFoundError as exc:
            fail(exc.message, 2)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    else:
        for line in lines(result):
            typer.echo(line)
    if not (result["unchanged"] and result["stored_hash_ok"]):
        raise typer.Exit(1)


def lines(result: dict[str, Any]) -> list[str]:
    """The answer of `verify` in words."""
    out = [_("certificate {id} (issued {issued})").format(id=result["id"],
                                                          issued=result["issued_at"]),
           _("evidence hash {hash}").format(hash=result["evidence_hash"])]
    if not result["stored_hash_ok"]:
        out.append(_("the stored evidence does not match the certificate's hash: it was "
                     "altered in the database"))
    out.append(_("unchanged: the records behind it are as they were") if result["unchanged"]
               else _("changed since it was issued:"))
    for c in result["changed"]:
        out.append(_("  changed {kind} {id} (version {version} -> {version_now}): {fields}")
                   .format(kind=c["kind"], id=c["id"], version=c["version"],
                           version_now=c["version_now"], fields=", ".join(c["fields"])))
    for d in result["deleted"]:
        out.append(_("  {reason}: {kind} {id} (version {version})").format(
            reason=d["reason"], kind=d["kind"], id=d["id"], version=d["version"]))
    for a in result["added"]:
        out.append(_("  added {kind} {id} (now within reach of the site)").format(
            kind=a["kind"], id=a["id"]))
    out.append(_("checked {at}").format(at=result["checked_at"]))
    return out



def register(app: typer.Typer) -> None:
    """Add `certificate` to the `mineaction` command."""
    app.add_typer(certificate_app, name="certificate")
