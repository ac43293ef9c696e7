"""The README's main job on synthetic exhibits: pistols, firings, files, comparisons, scores.

Synthetic pistols (two of them consecutively made, so sharing subclass marks) fire cartridges of
a few brands (one brand through several pistols); each fired case becomes an exhibit of an agency
in another country, written as an X3P scan and a PNG photograph. The files are then read back
through :func:`ballistics.io.read_surface`, as a lab's files are, and every pair is compared
within each modality. The ground truth is known, so the table shows what the engine got right.
Finally the 3D scans are ingested into a store of their own (``store / "demo" / "store"``), as a
network's labs would submit them: every exhibit is correlated against the others on arrival and
the possible links between cases, those across borders flagged, are listed with the truth.
"""

from __future__ import annotations

import csv
import itertools
import re
import secrets
import shutil
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.pairs import Item, Pair, ProgressCallback, compare_pairs
from ballistics.surface import Modality
from ballistics.synthetic import make_casing_dataset, pair_relation, write_exhibit_files

#: the submitting agencies: (name, ISO 3166-1 alpha-2 country); exhibits alternate among them
AGENCIES = (
    ("Port of Spain lab", "TT"),
    ("Georgetown lab", "GY"),
    ("Abidjan lab", "CI"),
    ("N'Djamena lab", "TD"),
)
MODALITIES = (Modality.TOPOGRAPHY, Modality.PHOTOGRAPH)
#: how the table names the ground truth of a pair (see ballistics.synthetic.PAIR_RELATIONS)
RELATION_NAMES = {
    "same_firearm": "same pistol",
    "same_production_run": "consecutive",
    "same_brand": "same ammo",
    "unrelated": "unrelated",
    "same_barrel": "same barrel",
    "other_barrel": "other barrel",
}
#: consecutively made pistols come in production runs of this many
PRODUCTION_RUN_SIZE = 2


@dataclass(frozen=True)
class DemoPerson:
    """A demo person's sign-in to the review station: email, random password, agency, role."""

    email: str
    password: str = field(repr=False)
    agency: str
    role: str


@dataclass(frozen=True)
class DemoReport:
    """What the demo did.

    Parameters
    ----------
    folder
        Where the exhibit files were written.
    exhibits
        One row per exhibit of its manifest: ``exhibit_id``, ``case_id``, ``agency``,
        ``country``, ``firearm``, ``brand``, and the file names per modality.
    pairs
        One row per pair of exhibits: ``a``, ``b``, their countries, ``truth`` (the relation),
        ``known_match``, and per modality the comparison record (or its ``error``).
    elapsed_s
        Seconds from generating the pistols to the last step.
    network
        The HTTP scenario on the 3D scans (:func:`api.scenario.run_scenario`): uploads, the
        cross-border leads, the examiner's confirmation, the investigator's linked incidents,
        the refused unshared image, and the server's ``url``.
    links
        The links in the demo's store after the scenario, as ``ballistics links --json`` lists
        them, each with the ground truth added (``truth``, ``known_match``).
    api_keys
        The demo agencies' API keys (for trying the API afterwards; never in :meth:`as_json`).
    people
        The demo people's sign-ins to the review station (``/ui/``), one per agency and role,
        with their random passwords (never in :meth:`as_json`).
    bullets
        The synthetic bullets (one folder of land scans each) the labs uploaded too:
        ``exhibit_id``, ``case_id``, ``agency``, ``country``, ``barrel``, ``path``.
    """

    folder: Path
    exhibits: list[dict[str, str]]
    pairs: list[dict[str, Any]]
    elapsed_s: float
    network: dict[str, Any]
    links: list[dict[str, Any]]
    api_keys: dict[str, str] = field(default_factory=dict, repr=False)
    bullets: list[dict[str, str]] = field(default_factory=list)
    people: list[DemoPerson] = field(default_factory=list, repr=False)

    def known_bullet_pairs(self) -> int:
        """Pairs of the demo's bullets fired by one barrel."""
        barrels = [bullet["barrel"] for bullet in self.bullets]
        return sum(a == b for a, b in itertools.combinations(barrels, 2))

    def summary(self) -> dict[str, dict[str, int]]:
        """Per modality: known matches found, false positives, pairs and failures."""
        counts = {}
        for modality in MODALITIES:
            results = [(pair["known_match"], pair[modality.value]) for pair in self.pairs]
            compared = [(truth, result) for truth, result in results if "error" not in result]
            counts[modality.value] = {
                "known_matches": sum(truth for truth, _ in results),
                "known_non_matches": sum(not truth for truth, _ in results),
                "matches_found": sum(truth and r["lead"] for truth, r in compared),
                "false_positives": sum(not truth and r["lead"] for truth, r in compared),
                "failed": len(results) - len(compared),
            }
        return counts

    def as_json(self) -> dict[str, Any]:
        """The report as one JSON-ready document."""
        return {
            "folder": str(self.folder),
            "exhibits": self.exhibits,
            "pairs": self.pairs,
            "summary": self.summary(),
            "network": self.network,
            "bullets": self.bullets,
            "links": self.links,
            "elapsed_s": self.elapsed_s,
        }


def run_demo(
    *,
    store: Path,
    seed: int = 7,
    pistols: int = 3,
    firings: int = 2,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> DemoReport:
    """Make synthetic exhibits, write them as files under ``store / "demo"``, compare every pair.

    Parameters
    ----------
    store
        The data directory; the files go to ``store / "demo"``, replacing a previous demo's.
    seed
        Seed of the pistols, ammunition and firings.
    pistols
        Number of pistols (at least 2), made in production runs of two consecutive slides.
    firings
        Cartridges fired by each pistol (at least 2, so that there are known matches).
    workers
        Processes for the comparisons; None for every core.
    progress
        Progress callback for the preparation and comparison stages.
    """
    if pistols < 2 or firings < 2:
        raise ValueError(
            f"the demo needs at least 2 pistols and 2 firings each, got {pistols} and {firings}."
        )
    started = time.perf_counter()
    folder = Path(store) / "demo"
    if folder.exists():
        shutil.rmtree(folder)
    records = make_casing_dataset(
        firearm_count=pistols,
        firings_per_firearm=firings,
        seed=seed,
        consecutive=True,
        run_size=PRODUCTION_RUN_SIZE,
        modality=None,
    )
    files = _write_casings(records, folder)
    table = _compare_every_pair(records, files, workers=workers, progress=progress)
    bullets = write_bullets(folder / "bullets", seed=seed)
    network, links, keys, people = _run_network(
        files.manifests[Modality.TOPOGRAPHY],
        folder / "store",
        records,
        files.exhibits,
        workers=workers,
        bullets=bullets,
    )
    return DemoReport(
        folder,
        files.exhibits,
        table,
        time.perf_counter() - started,
        network,
        links,
        api_keys=keys,
        bullets=bullets,
        people=people,
    )


@dataclass(frozen=True)
class _CasingFiles:
    """The fired cases written as files: each modality's manifest and its rows, and one row
    per exhibit naming its file in every modality."""

    manifests: dict[Modality, Path]
    rows: dict[Modality, list[dict[str, str]]]
    exhibits: list[dict[str, str]]

    def item(self, modality: Modality, index: int) -> Item:
        """The exhibit ``index`` as a file of ``modality``."""
        return Item(self.manifests[modality].parent / self.rows[modality][index]["path"])


def _write_casings(records: Sequence[Any], folder: Path) -> _CasingFiles:
    """Write every fired case as an X3P scan and a PNG photograph, with a manifest each."""
    manifests = {
        modality: write_exhibit_files(
            records,
            folder / modality.value,
            modality=modality,
            case_prefix="DEMO",
            agencies=AGENCIES,
        )
        for modality in MODALITIES
    }
    rows = {modality: _read_manifest(path) for modality, path in manifests.items()}
    exhibits = [
        {
            key: row[key]
            for key in ("exhibit_id", "case_id", "agency", "country", "firearm", "brand")
        }
        | {modality.value: rows[modality][index]["path"] for modality in MODALITIES}
        for index, row in enumerate(rows[Modality.TOPOGRAPHY])
    ]
    return _CasingFiles(manifests, rows, exhibits)


def _compare_every_pair(
    records: Sequence[Any],
    files: _CasingFiles,
    *,
    workers: int | None,
    progress: ProgressCallback | None,
) -> list[dict[str, Any]]:
    """Compare every pair of exhibits within each modality; return one row per pair with the
    ground truth and each modality's comparison (JSON, or its ``error``)."""
    exhibits = files.exhibits
    indices = list(itertools.combinations(range(len(records)), 2))
    pairs = [
        Pair(
            exhibits[i]["exhibit_id"],
            exhibits[j]["exhibit_id"],
            files.item(modality, i),
            files.item(modality, j),
        )
        for modality in MODALITIES
        for i, j in indices
    ]
    run = compare_pairs(pairs, workers=workers, progress=progress)
    table = []
    for number, (i, j) in enumerate(indices):
        relation = pair_relation(records[i], records[j])
        row: dict[str, Any] = {
            "a": exhibits[i]["exhibit_id"],
            "b": exhibits[j]["exhibit_id"],
            "country_a": exhibits[i]["country"],
            "country_b": exhibits[j]["country"],
            "truth": relation,
            "known_match": relation == "same_firearm",
        }
        for offset, modality in enumerate(MODALITIES):
            result = dict(run.results[offset * len(indices) + number])
            del result["a"], result["b"]
            row[modality.value] = result
        table.append(row)
    return table


#: the network's other accounts: an examiner who reviews leads, an investigator who follows them
EXAMINER = ("Regional examiner", "TT")
INVESTIGATOR = ("Abidjan investigations", "CI")
#: this lab uploads its exhibits unshared (the others' images stay visible to the network)
UNSHARED_AGENCY = "N'Djamena lab"
#: the demo people's emails end so (one person per agency, and the network's administrator)
DEMO_EMAIL_DOMAIN = "demo.example.org"
#: the demo passwords' characters: letters and digits, easy to copy from a terminal
PASSWORD_ALPHABET = string.ascii_letters + string.digits
#: the administrator's account sits with the regional examiner
ADMIN_EMAIL = f"admin@{DEMO_EMAIL_DOMAIN}"


def demo_email(agency: str) -> str:
    """The demo person's email at ``agency``: ``port-of-spain-lab@demo.example.org``."""
    local = re.sub(r"[^a-z0-9]+", "-", agency.lower().replace("'", "")).strip("-")
    return f"{local}@{DEMO_EMAIL_DOMAIN}"


def _add_people(session: Any, agencies: dict[str, tuple[Any, str]]) -> list[DemoPerson]:
    """Give each agency one person in its role, and the examiner's agency an administrator,
    each with a random password; return their sign-ins."""
    from api.store import repository

    accounts = [(name, demo_email(name), role) for name, (_, role) in agencies.items()]
    accounts.append((EXAMINER[0], ADMIN_EMAIL, "admin"))
    people = []
    for name, email, role in accounts:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
        repository.create_user(session, agencies[name][0], email, role=role, password=password)
        people.append(DemoPerson(email, password, name, role))
    return people


#: synthetic bullets: (exhibit id, case id, agency index, barrel); two fired by barrel 1
BULLETS = (
    ("BUL-1", "DEMO-B01", 0, 1),
    ("BUL-2", "DEMO-B02", 1, 2),
    ("BUL-3", "DEMO-B03", 2, 1),
)
#: lands of the synthetic barrels' rifling, and the scans' resolution (coarser than a lab's
#: 1.56 µm, so that the demo stays quick)
BULLET_LANDS = 6
BULLET_PIXEL_UM = 3.125


def write_bullets(folder: Path, *, seed: int) -> list[dict[str, str]]:
    """Write the demo's synthetic bullets, one folder of land X3P scans each; return their rows
    (``exhibit_id``, ``case_id``, ``agency``, ``country``, ``barrel``, ``path``)."""
    from ballistics.bullet.synthetic import barrel_striae, render_land
    from ballistics.io.x3p import write_x3p

    rows = []
    for number, (exhibit_id, case_id, agency_index, barrel) in enumerate(BULLETS):
        striae = barrel_striae(
            seed=seed * 100 + barrel, land_count=BULLET_LANDS, pixel_um=BULLET_PIXEL_UM
        )
        bullet_folder = folder / exhibit_id
        bullet_folder.mkdir(parents=True, exist_ok=True)
        for land, profile in enumerate(striae, start=1):
            rendered = render_land(
                profile,
                seed=seed * 1000 + number * 10 + land,
                pixel_um=BULLET_PIXEL_UM,
                shift_um=40.0 * number,
            )
            write_x3p(rendered.surface, bullet_folder / f"{exhibit_id}-Land_{land}.x3p")
        agency, country = AGENCIES[agency_index]
        rows.append(
            {
                "exhibit_id": exhibit_id,
                "case_id": case_id,
                "agency": agency,
                "country": country,
                "barrel": f"barrel {barrel}",
                "path": str(bullet_folder),
            }
        )
    return rows


def _run_network(
    manifest: Path,
    store: Path,
    records: Sequence[Any],
    exhibits: Sequence[dict[str, str]],
    *,
    workers: int | None,
    bullets: Sequence[dict[str, str]] = (),
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str], list[DemoPerson]]:
    """Give every agency an account and a person, start the API on a fresh store and run the
    network's scenario over HTTP (:mod:`api.scenario`); return the scenario's report, the links
    with their ground truth, the agencies' keys and the people's sign-ins."""
    import httpx

    from api.scenario import ScenarioExhibit, run_scenario
    from api.service import EvidenceService
    from api.store import repository
    from api.web.app import create_app
    from api.web.server import serving
    from api.web.settings import ApiSettings

    if store.exists():
        shutil.rmtree(store)
    record_of = {exhibit["exhibit_id"]: records[i] for i, exhibit in enumerate(exhibits)}
    rows = _read_manifest(manifest)
    keys: dict[str, str] = {}
    with EvidenceService.open(store, workers=workers) as service:
        with service.store.transaction(write=True) as session:
            agencies = {}
            for name, country in AGENCIES:
                agency = repository.get_or_create_agency(session, name, country=country)
                keys[name] = repository.issue_api_key(session, agency)
                agencies[name] = (agency, "lab")
            for (name, country), role in ((EXAMINER, "examiner"), (INVESTIGATOR, "investigator")):
                agency = repository.get_or_create_agency(session, name, country=country, role=role)
                keys[name] = repository.issue_api_key(session, agency)
                agencies[name] = (agency, role)
            people = _add_people(session, agencies)
        uploads = [
            ScenarioExhibit(
                path=manifest.parent / row["path"],
                exhibit_id=row["exhibit_id"],
                case_id=row["case_id"],
                agency=row["agency"],
                caliber=row.get("caliber") or None,
                shared=row["agency"] != UNSHARED_AGENCY,
            )
            for row in rows
        ] + [
            ScenarioExhibit(
                path=Path(row["path"]),
                exhibit_id=row["exhibit_id"],
                case_id=row["case_id"],
                agency=row["agency"],
                caliber="9mm",
                shared=row["agency"] != UNSHARED_AGENCY,
                kind="bullet",
            )
            for row in bullets
        ]
        app = create_app(ApiSettings(store=store), service=service)
        with serving(app) as url, httpx.Client(base_url=url, timeout=120.0) as client:
            scenario = run_scenario(
                client, uploads, keys=keys, examiner=EXAMINER[0], investigator=INVESTIGATOR[0]
            )
            links = service.links()
    barrel_of = {row["exhibit_id"]: row["barrel"] for row in bullets}
    for link in [*links, *scenario.leads]:
        first, second = link["exhibit_a"], link["exhibit_b"]
        if first in barrel_of:
            same = barrel_of[first] == barrel_of[second]
            relation = "same_barrel" if same else "other_barrel"
        else:
            relation = pair_relation(record_of[first], record_of[second])
        link["truth"] = relation
        link["known_match"] = relation in ("same_firearm", "same_barrel")
    document = scenario.as_json()
    document["url"] = url
    document["ingested"] = len(scenario.uploads)
    document["failed"] = []
    return document, links, keys, people


def print_report(report: DemoReport, console: Any) -> None:
    """Print the exhibits, the scores table and the one-line summary on a rich console."""
    from rich.markup import escape
    from rich.table import Table

    exhibits = Table(title="Exhibits (synthetic)", title_justify="left")
    for heading in ("exhibit", "case", "agency", "country", "pistol", "ammunition"):
        exhibits.add_column(heading, no_wrap=True)
    for exhibit in report.exhibits:
        exhibits.add_row(
            *(
                escape(exhibit[key])
                for key in ("exhibit_id", "case_id", "agency", "country", "firearm", "brand")
            )
        )
    console.print(exhibits)
    if report.bullets:
        bullets = Table(
            title=f"Bullets (synthetic, {BULLET_LANDS} land scans each)", title_justify="left"
        )
        for heading in ("exhibit", "case", "agency", "country", "barrel"):
            bullets.add_column(heading, no_wrap=True)
        for bullet in report.bullets:
            bullets.add_row(
                *(
                    escape(bullet[key])
                    for key in ("exhibit_id", "case_id", "agency", "country", "barrel")
                )
            )
        console.print(bullets)

    scores = Table(
        title="Every pair, as 3D scans (X3P) and as photographs (PNG)",
        title_justify="left",
        caption="lead: the score reached the lead threshold, worth an examiner's time (green "
        "where it agrees with the truth); consecutive: two pistols made one after the other; "
        "same ammo: two pistols firing the same brand",
        caption_justify="left",
    )
    scores.add_column("A", no_wrap=True)
    scores.add_column("B", no_wrap=True)
    scores.add_column("truth", no_wrap=True)
    for modality in MODALITIES:
        scores.add_column("3D" if modality is Modality.TOPOGRAPHY else "photo", justify="right")
        scores.add_column("lead")
    for pair in report.pairs:
        cells = [
            f"{pair['a']} {pair['country_a']}",
            f"{pair['b']} {pair['country_b']}",
            RELATION_NAMES[pair["truth"]],
        ]
        for modality in MODALITIES:
            cells += _decision_cells(pair[modality.value], known_match=pair["known_match"])
        scores.add_row(*cells)
    console.print(scores)
    for pair in report.pairs:
        for modality in MODALITIES:
            if "error" in pair[modality.value]:
                console.print(f"[red]error[/] {escape(pair[modality.value]['error'])}")
    console.print(summary_line(report))

    links = Table(
        title="Uploaded by the labs over the HTTP API: the links between cases",
        title_justify="left",
        caption="a lead is for an examiner to confirm or reject; across: the two agencies are "
        "in different countries",
        caption_justify="left",
    )
    for heading in ("A", "B", "score", "across", "status"):
        links.add_column(heading, no_wrap=True)
    links.add_column("truth")
    for link in report.links:
        colour = "green" if link["known_match"] else "red"
        links.add_row(
            f"{escape(link['exhibit_a'])} {link['country_a']}",
            f"{escape(link['exhibit_b'])} {link['country_b']}",
            f"{link['score']:.1f}",
            "yes" if link["cross_border"] else "no",
            link["status"],
            f"[{colour}]{RELATION_NAMES[link['truth']]}[/]",
        )
    console.print(links)
    console.print(links_line(report))
    for line in scenario_lines(report):
        console.print(escape(line))
    console.print(f"Files in {escape(str(report.folder))}; {report.elapsed_s:.1f} s in all.")


def links_line(report: DemoReport) -> str:
    """One line: exhibits uploaded, links created, how many cross borders and how many are true."""
    network = report.network
    cross_border = sum(link["cross_border"] for link in report.links)
    true_links = sum(link["known_match"] for link in report.links)
    known_matches = report.summary()[Modality.TOPOGRAPHY.value]["known_matches"]
    known_bullets = report.known_bullet_pairs()
    return (
        f"Uploads: {len(network['uploads'])} exhibits ({len(report.bullets)} of them bullets) "
        f"stored and correlated in {network['correlation_s']:.1f} s; {len(report.links)} links, "
        f"{cross_border} across borders, {true_links} of them true ({known_matches} known-match "
        f"casing pairs, {known_bullets} bullet pair{'s' if known_bullets != 1 else ''})."
    )


def scenario_lines(report: DemoReport) -> list[str]:
    """What the examiner, the investigator and the sharing rule did, one line each."""
    network = report.network
    lines = []
    confirmed = network.get("confirmed")
    if confirmed:
        lines.append(
            f"{confirmed['decided_by']} confirmed the best cross-border lead "
            f"({confirmed.get('decision_method') or 'images'}): "
            f"{confirmed['exhibit_a']} ({confirmed['agency_a']}, {confirmed['country_a']}) and "
            f"{confirmed['exhibit_b']} ({confirmed['agency_b']}, {confirmed['country_b']}), "
            f"score {confirmed['score']:.1f}."
        )
    linked = network.get("linked")
    if linked:
        cases = ", ".join(
            f"{case['case_id']} of {case['agency']} ({case['country']})" for case in linked["cases"]
        )
        lines.append(
            f"{INVESTIGATOR[0]} asks which incidents case {linked['case']['case_id']} "
            f"({linked['case']['country']}) is linked to: {cases or 'none'}."
        )
    unshared = network.get("unshared_image")
    if unshared:
        lines.append(
            f"{unshared['asked_by']} asks for the image of {unshared['owner']}'s unshared exhibit "
            f"{unshared['exhibit_id']}: HTTP {unshared['status_for_other']} "
            f"({unshared['owner']} itself gets HTTP {unshared['status_for_owner']})."
        )
    return lines


def summary_line(report: DemoReport) -> str:
    """One line: per modality, known matches found and false positives."""
    parts = []
    for modality, counts in report.summary().items():
        label = "3D scans" if modality == Modality.TOPOGRAPHY.value else "photographs"
        part = (
            f"{label}: {counts['matches_found']} of {counts['known_matches']} known matches "
            f"are leads, and {counts['false_positives']} of "
            f"{counts['known_non_matches']} known non-matches (false leads)"
        )
        if counts["failed"]:
            part += f", {counts['failed']} comparisons failed"
        parts.append(part)
    return "; ".join(parts) + "."


def _decision_cells(result: dict[str, Any], *, known_match: bool) -> Sequence[str]:
    """Score and decision, the decision green when it agrees with the ground truth, red if not."""
    if "error" in result:
        return "[red]error[/]", ""
    same = bool(result["lead"])
    colour = "green" if same == known_match else "red"
    score = "-" if result["score"] is None else f"{result['score']:.1f}"
    return score, f"[{colour}]{'yes' if same else 'no'}[/]"


def _read_manifest(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
