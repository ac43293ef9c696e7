"""``ballistics agency add|list|revoke``: the agency accounts of the HTTP API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.options import (
    DEFAULT_STORE,
    DebugOption,
    JsonOption,
    Role,
    StoreOption,
)
from api.cli.output import print_agencies_table, print_json, print_new_key, print_revoked
from api.cli.resources import opened_store

if TYPE_CHECKING:
    from api.store.models import Agency

agency_app = typer.Typer(
    name="agency",
    help="Agency accounts of the HTTP API (labs, examiners, investigators, admins).",
    no_args_is_help=True,
)


@agency_app.command("add")
def agency_add(
    name: Annotated[str, typer.Argument(help="The agency's name, unique in the network.")],
    country: Annotated[
        str,
        typer.Option(
            "--country",
            help="ISO 3166-1 alpha-2 code of its country, e.g. GB (not UK); any case.",
        ),
    ],
    role: Annotated[Role, typer.Option("--role", help="What the agency may do.")] = Role.lab,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Create an agency account and print its API key once (only a hash is stored).

    Run it again for an existing agency to issue a new key (the old one stops working). A
    revoked agency is refused: register the account under a new name.
    """
    del debug  # read by main()
    from api.store import repository

    # checked before the store is opened: a bad country leaves no store behind
    try:
        country = repository.check_assigned_country_code(country)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--country") from None
    with (
        opened_store(store, create=True) as store_handle,
        store_handle.transaction(write=True) as session,
    ):
        agency = repository.get_or_create_agency(session, name, country=country, role=str(role))
        # a revoked agency is refused by issue_api_key, whatever role was asked
        if agency.disabled_at is None and agency.role != str(role):
            raise ValueError(
                f"agency {name!r} is registered as {agency.role}, not {role}; give the "
                f"new account another name, or --role {agency.role} to issue a new key."
            )
        api_key = repository.issue_api_key(session, agency)
        document = {
            "agency": agency.name,
            "country": agency.country,
            "role": agency.role,
            "api_key": api_key,
            "id": agency.public_id,
        }
    if json_output:
        print_json(document)
    else:
        print_new_key(document)


@agency_app.command("list")
def agency_list(
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """List the agency accounts, revoked ones included (never their keys)."""
    del debug  # read by main()
    from api.store import repository

    with (
        opened_store(store, create=False) as store_handle,
        store_handle.transaction() as session,
    ):
        agencies = [_agency_record(agency) for agency in repository.list_agencies(session)]
    if json_output:
        print_json({"agencies": agencies})
    else:
        print_agencies_table(agencies)


@agency_app.command("revoke")
def agency_revoke(
    name: Annotated[str, typer.Argument(help="The agency's name, as `agency list` shows it.")],
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Disable an agency and its API key for good; its exhibits, links and audit lines stay.

    Revoking an agency already revoked changes nothing.
    """
    del debug  # read by main()
    from api.store import repository
    from api.store.errors import NotFoundError

    with (
        opened_store(store, create=False) as store_handle,
        store_handle.transaction(write=True) as session,
    ):
        try:
            outcome = repository.revoke_agency(session, name)
        except NotFoundError as error:
            raise typer.BadParameter(
                f"{error}; `ballistics agency list` shows the agencies' names",
                param_hint="NAME",
            ) from None
        document = {**_agency_record(outcome.agency), "changed": outcome.changed}
    if json_output:
        print_json(document)
    else:
        print_revoked(document)


def _agency_record(agency: Agency) -> dict[str, Any]:
    """Return an agency as ``agency list``'s JSON: no key, nor whether it holds one."""
    disabled_at = agency.disabled_at
    return {
        "agency": agency.name,
        "id": agency.public_id,
        "country": agency.country,
        "role": agency.role,
        "created_at": agency.created_at.isoformat(),
        "active": disabled_at is None,
        "disabled_at": None if disabled_at is None else disabled_at.isoformat(),
    }
