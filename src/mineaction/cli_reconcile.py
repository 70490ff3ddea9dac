# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction reconcile`: one person counted once (issue 17). Link the victims or accidents
that several sources (datasets) report, work through the review queue (confirm, reject,
merge, split, undo) and see what an entity is made of. The command line acts as the store's
administrator, and every decision is audited in its name (cli:<system user>), as with the
API's services/reconcile.py, which this calls."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from mineaction.cli_common import DEFAULT_STORE, StoreOption, cli_principal, fail, open_audited
from mineaction.cli_i18n import _, ngettext, num

reconcile_app = typer.Typer(
    help="Link the records several sources report, and review the links.",
    no_args_is_help=True)


class Kind(StrEnum):
    victims = "victims"
    accidents = "accidents"


class LinkStatus(StrEnum):
    review = "review"
    accepted = "accepted"
    confirmed = "confirmed"
    rejected = "rejected"
    split = "split"


KIND_OPTION = Annotated[Kind, typer.Option(help="What to link.")]
NOTE_OPTION = Annotated[str | None, typer.Option(help="Why (kept with the decision).")]
SINGULAR = {Kind.victims: "victim", Kind.accidents: "accident"}


def _service(store: Any) -> Any:
    from mineaction.access.roles import Policy
    from mineaction.services.reconcile import Reconciliation

    return Reconciliation(store, Policy()), cli_principal()


def _run(action: Any) -> Any:
    from mineaction.services.errors import ServiceError

    try:
        return action()
    except ServiceError as exc:
        fail(str(exc), 2)


@reconcile_app.command("run")
def run(
    datasets: Annotated[list[str], typer.Argument(help="Two or more datasets (sources).")],
    kind: KIND_OPTION = Kind.victims,
    upper: Annotated[float, typer.Option(
        help="Links at least this probable are accepted.", min=0, max=1)] = 0.95,
    lower: Annotated[float, typer.Option(
        help="Links between LOWER and UPPER go to the review queue; below, none.",
        min=0, max=1)] = 0.6,
    reliability: Annotated[str | None, typer.Option(
        help="Datasets from most to least reliable, comma-separated: an entity is "
        "represented (in statistics) by the record of the most reliable one; else by "
        "the most recently updated.")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Link the records of DATASETS: candidate pairs between sources, scored by a
    probabilistic model (Splink), accepted, sent to review, or dropped by the thresholds.
    Statistics then count each entity once."""
    order = [d.strip() for d in reliability.split(",")] if reliability else None
    with open_audited(store) as s:
        service, who = _service(s)
        summary = _run(lambda: service.run(who, SINGULAR[kind], datasets, upper=upper,
                                           lower=lower, reliability=order))
    # link statuses (accepted, review ...) and kinds are codes, as the options take them
    counts = ", ".join(f"{k} {num(v)}" for k, v in sorted(summary.counts.items())) or _("none")
    typer.echo(_("linked {kind} of {datasets}: links {counts}; {entities} entities of two or "
                 "more records").format(kind=kind.value, datasets=", ".join(summary.datasets),
                                        counts=counts, entities=num(summary.entities)))
    for note in summary.notes:
        typer.echo(_("  note: {note}").format(note=note))
    if summary.counts.get("review"):
        typer.echo(_("  review them with `mineaction reconcile queue --kind {kind}`").format(
            kind=kind.value))


@reconcile_app.command("queue")
def queue(
    kind: KIND_OPTION = Kind.victims,
    status: Annotated[LinkStatus, typer.Option(help="Which links.")] = LinkStatus.review,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """The links to decide (or of another status), most doubtful first, both records side
    by side with the fields that differ marked."""
    with open_audited(store) as s:
        service, who = _service(s)
        items, total = _run(lambda: service.queue(who, SINGULAR[kind], status.value,
                                                  limit, offset))
    if json_out:
        typer.echo(json.dumps({"total": total, "items": items}, default=str, indent=1))
        return
    typer.echo(_("{total} {status} links of {kind}").format(
        total=num(total), status=status.value, kind=kind.value)
               + (_(" (showing {first}-{last})").format(first=offset + 1,
                                                       last=offset + len(items))
                  if items else ""))
    for item in items:
        p = item["probability"]
        typer.echo("\n" + _("link {id}  {scope}  p={p}").format(
            id=item["id"], scope=item["scope"], p="-" if p is None else f"{p:.3f}"))
        a, b = item["a"] or {}, item["b"] or {}
        gone = _("gone")
        typer.echo(f"  {'':<17} {'A ' + str(a.get('id', gone))[:8]:<24} "
                   f"{'B ' + str(b.get('id', gone))[:8]:<24}")
        for name in item["shown"]:
            va, vb = a.get(name), b.get(name)
            mark = "*" if va != vb else " "
            typer.echo(f"{mark} {name:<17} {_cell(va):<24} {_cell(vb):<24}")
    if items:
        typer.echo("\n" + _("(* differs)  decide with `mineaction reconcile confirm|reject "
                            "LINK`"))


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 24 else text[:23] + "…"


@reconcile_app.command("confirm")
def confirm(link: Annotated[str, typer.Argument(help="The link's id.")],
            note: NOTE_OPTION = None, store: StoreOption = DEFAULT_STORE) -> None:
    """The two records are the same person (or accident)."""
    _decide(link, "confirm", note, store)


@reconcile_app.command("reject")
def reject(link: Annotated[str, typer.Argument(help="The link's id.")],
           note: NOTE_OPTION = None, store: StoreOption = DEFAULT_STORE) -> None:
    """The two records are not the same: both count."""
    _decide(link, "reject", note, store)


def _decide(link: str, action: str, note: str | None, store: str) -> None:
    with open_audited(store) as s:
        service, who = _service(s)
        done = _run(lambda: service.decide(who, link, action, note))
    typer.echo(_("link {id}: {status}").format(id=link, status=done["status"]))


@reconcile_app.command("merge")
def merge(a: Annotated[str, typer.Argument(help="A record's id.")],
          b: Annotated[str, typer.Argument(help="Another record's id.")],
          kind: KIND_OPTION = Kind.victims, note: NOTE_OPTION = None,
          store: StoreOption = DEFAULT_STORE) -> None:
    """Two records the model did not pair are the same: a confirmed link."""
    with open_audited(store) as s:
        service, who = _service(s)
        done = _run(lambda: service.merge(who, SINGULAR[kind], a, b, note))
    typer.echo(_("link {id}: {status}").format(id=done["id"], status=done["status"]))


@reconcile_app.command("split")
def split(record: Annotated[str, typer.Argument(help="A record's id.")],
          kind: KIND_OPTION = Kind.victims, note: NOTE_OPTION = None,
          store: StoreOption = DEFAULT_STORE) -> None:
    """Take a record out of its entity: every link that joins it is rejected."""
    with open_audited(store) as s:
        service, who = _service(s)
        ids = _run(lambda: service.split(who, SINGULAR[kind], record, note))
    # English says "link(s)" for any number; other languages have their plural forms
    typer.echo(ngettext("rejected {n} link(s): {ids}", "rejected {n} link(s): {ids}",
                        len(ids)).format(n=len(ids), ids=", ".join(ids)))



@reconcile_app.command("undo")
def undo(link: Annotated[str, typer.Argument(help="The link's id.")],
         store: StoreOption = DEFAULT_STORE) -> None:
    """Take back the latest decision on a link."""
    with open_audited(store) as s:
        service, who = _service(s)
        done = _run(lambda: service.undo(who, link))
    typer.echo(_("link {id}: back to {status}").format(id=link, status=done["status"]))


@reconcile_app.command("entity")
def entity(record: Annotated[str, typer.Argument(help="A record's id.")],
           kind: KIND_OPTION = Kind.victims, store: StoreOption = DEFAULT_STORE) -> None:
    """The records of the entity a record belongs to, its representative first, and the
    entity as one record, each field with the source it comes from."""
    with open_audited(store) as s:
        service, who = _service(s)
        entity = _run(lambda: service.canonical(who, SINGULAR[kind], record))
    for m in entity["records"]:
        flag = _("representative") if m["representative"] else ""
        typer.echo(f"{m['id']}  {m['dataset'] or '':<24} {flag}")
    typer.echo(_("as one record ({rule}):").format(rule=entity["rule"]))
    for name, f in entity["fields"].items():
        typer.echo(f"  {name:<17} {_cell(f['value']):<24} "
                   + _("from {dataset}").format(dataset=f["dataset"]))



def register(app: typer.Typer) -> None:
    app.add_typer(reconcile_app, name="reconcile")
