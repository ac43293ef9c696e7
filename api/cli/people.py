"""``ballistics user add``: people's accounts for the review station's pages."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from api.cli.options import DEFAULT_STORE, DebugOption, JsonOption, Role, StoreOption
from api.cli.output import print_json
from api.cli.resources import opened_store

user_app = typer.Typer(
    name="user",
    help="People's accounts for the review station (under an agency, with their own role).",
    no_args_is_help=True,
)


def _read_password() -> str:
    """Return the first line of standard input (no echo when it is a terminal)."""
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The person's email: their sign-in name.")],
    agency: Annotated[
        str, typer.Option("--agency", help="The agency they work for, as `agency list` shows.")
    ],
    role: Annotated[Role, typer.Option("--role", help="What the person may do in the pages.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (at least 10 "
            "characters); it is never an argument, which others on the machine could read.",
        ),
    ] = False,
    name: Annotated[str, typer.Option("--name", help="The name the pages show.")] = "",
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Create a person's account under an agency; only an Argon2 hash of the password is kept."""
    del debug  # read by main()
    from api.store import repository
    from api.store.errors import ConflictError, NotFoundError

    if not password_stdin:
        raise typer.BadParameter(
            "give the password on standard input with --password-stdin", param_hint="--password"
        )
    password = _read_password()
    try:
        repository.check_password_strength(password)
        address = repository.normalise_email(email)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    with (
        opened_store(store, create=False) as store_handle,
        store_handle.transaction(write=True) as session,
    ):
        try:
            agency_row = repository.get_agency(session, agency)
        except NotFoundError as error:
            raise typer.BadParameter(
                f"{error}; `ballistics agency list` shows the agencies' names",
                param_hint="--agency",
            ) from None
        try:
            user = repository.create_user(
                session, agency_row, address, role=str(role), password=password, display_name=name
            )
        except ConflictError as error:
            raise typer.BadParameter(str(error)) from None
        document = {
            "email": user.email,
            "display_name": user.display_name,
            "agency": agency_row.name,
            "country": agency_row.country,
            "role": user.role,
        }
    if json_output:
        print_json(document)
    else:
        sys.stdout.write(
            f"{document['email']} added to {document['agency']} ({document['country']}) "
            f"as {document['role']}\n"
        )
