"""The explorer's routes: public HTML pages under ``/explorer`` and its read API (JSON, CSV).

Pages are rendered on the server (Jinja2) from the mirror as of one confirmed block per request,
read in one snapshot (REPEATABLE READ on PostgreSQL, a read transaction on SQLite's WAL), so the
indexer committing meanwhile cannot mix two blocks into a page. No API key: everything here is
public chain data and public aggregates. Errors render as an HTML page with the error's status
(the read API answers with the platform's JSON error envelope).

Pages are in Bahasa Indonesia unless the visitor chose English (``?lang=en``, then remembered in
the ``msc_lang`` cookie) or their browser prefers it, through the same gettext catalogues as the
checkout and the portal (:mod:`webui.i18n`); every amount keeps its exact integer in ``title``.
Exports and the read API are data: exact integers and English column keys, in every language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, pass_environment
from markupsafe import Markup
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from audit.explorer import catalog, chart, formatting, queries, search
from audit.explorer.catalog import TableDef
from audit.explorer.queries import AsOf
from audit.explorer.settings import ExplorerSettings
from audit.explorer.tables import Page, PageRequest, parse_request, to_csv, to_json
from carbon.documents import LocalDocumentStore
from common.errors import MSCError, NotFoundError, ValidationError
from common.sql.helpers import read_snapshot
from indexer import reader
from webui.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_PARAM,
    LANGUAGES,
    N_,
    PageTemplates,
    negotiate,
    remember_language,
)

PACKAGE = FilePath(__file__).parent
STATIC_DIR = PACKAGE / "static"
STATIC_URL = "/explorer/static"


def _language(env: Environment) -> str:
    """The language of the environment a filter runs in (:class:`PageTemplates` keeps one each)."""
    return str(env.globals["language"])


@pass_environment
def _tonnes(env: Environment, value: int | None) -> Markup:
    return formatting.tonnes(value, _language(env))


@pass_environment
def _timestamp(env: Environment, seconds: int | None) -> Markup:
    return formatting.timestamp(seconds, _language(env))


@pass_environment
def _status(env: Environment, value: str | None) -> Markup:
    return formatting.status(value, _language(env))


@pass_environment
def _cell(env: Environment, value: Any, kind: str) -> Markup:
    return formatting.cell(value, kind, _language(env))


FILTERS: Mapping[str, Callable[..., Any]] = {
    "sen": formatting.idr,
    "tonnes": _tonnes,
    "cell": _cell,
    "status": _status,
    "address": formatting.address,
    "short": formatting.short,
    "timestamp": _timestamp,
}
"""The explorer's filters, in the language of the environment they run in: pages in the explorer's
look rendered elsewhere (``PageTemplates(..., filters=FILTERS)``) format amounts the same way."""

templates = PageTemplates([PACKAGE / "templates"], filters=FILTERS)
"""The explorer's templates in every language. Amounts in sen use ``| sen`` (``Rp 15.000,50`` with the
exact sen on hover); :class:`PageTemplates`' own ``| idr`` (whole Rupiah, no exact) is left to it."""

router = APIRouter(prefix="/explorer", tags=["explorer"])

CID_TEXT = re.compile(r"^[A-Za-z0-9]{1,200}$")
"""A multibase CID string (base32 ``b…`` or base58btc ``z…``/``Qm…``): letters and digits only."""
UINT256_MAX = 2**256 - 1
BLOCK_MAX = 2**63 - 1  # BIGINT
BlockNumber = Annotated[int, Path(ge=0, le=BLOCK_MAX, description="A block number.")]
Uint256Id = Annotated[int, Path(ge=0, le=UINT256_MAX, description="A uint256 id.")]


def explorer_settings(request: Request) -> ExplorerSettings:
    """The app's explorer settings (``app.state.explorer``), read from ``MSC_EXPLORER_*`` once if unset."""
    settings = getattr(request.app.state, "explorer", None)
    if settings is None:
        settings = ExplorerSettings.from_env()
        request.app.state.explorer = settings
    assert isinstance(settings, ExplorerSettings)
    return settings


@contextmanager
def reading(request: Request) -> Iterator[tuple[Connection, AsOf, ExplorerSettings]]:
    """One read-only snapshot of the mirror and the block it is shown as of."""
    settings = explorer_settings(request)
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as session:
        conn = read_snapshot(session)  # every query of the request sees the same indexer commit
        try:
            yield conn, queries.as_of(conn, settings.confirmations, settings.stream), settings
        finally:
            session.rollback()


# ---------------------------------------------------------------------- tables on pages


@dataclass
class TableView:
    """A table as a page shows it: the page of rows and the links that page, sort and export it.

    Query parameters of this table are prefixed with its ``key`` (``transfers_page=2``), so a
    page with several tables pages each on its own and a link keeps the others where they were.
    """

    table: TableDef
    page: Page
    path: str
    params: dict[str, str]
    filters: dict[str, str] = field(default_factory=dict)
    key: str = ""

    def _url(self, **changes: str | None) -> str:
        params = dict(self.params)
        for name, value in changes.items():
            if value is None:
                params.pop(f"{self.key}_{name}", None)
            else:
                params[f"{self.key}_{name}"] = value
        query = urlencode(sorted(params.items()))
        return f"{self.path}?{query}#{self.key}" if query else f"{self.path}#{self.key}"

    def sort_url(self, column: str) -> str:
        """Sorts by ``column``: descending first, a second click ascending; back to page 1."""
        desc = not (self.page.sort == column and self.page.request.desc)
        return self._url(sort=column, dir="desc" if desc else "asc", page=None)

    def sort_mark(self, column: str) -> str:
        """▼ or ▲ on the column the table is sorted by."""
        if self.page.sort != column:
            return ""
        return "▼" if self.page.request.desc else "▲"

    def page_url(self, number: int) -> str:
        """Page ``number`` in the current order."""
        return self._url(page=str(number))

    def export_url(self, fmt: str) -> str:
        """The whole table (same filters, same order) as ``csv`` or ``json``."""
        params = dict(self.filters)
        params.update(sort=self.page.sort, dir="desc" if self.page.request.desc else "asc")
        return f"/explorer/export/{self.table.name}.{fmt}?{urlencode(sorted(params.items()))}"

    @property
    def first_row(self) -> int:
        """1-based number of the first row shown."""
        return self.page.request.offset + 1 if self.page.rows else 0

    @property
    def last_row(self) -> int:
        """1-based number of the last row shown."""
        return self.page.request.offset + len(self.page.rows)


def view(
    request: Request,
    conn: Connection,
    at: AsOf,
    settings: ExplorerSettings,
    name: str,
    filters: Mapping[str, str] | None = None,
    key: str | None = None,
) -> TableView:
    """Table ``name`` with ``filters``, paged and sorted as the request's query string says."""
    definition = catalog.table(name)
    key = key or name
    params = dict(request.query_params)
    page_request = parse_request(
        params, f"{key}_", definition.columns, settings.page_size, settings.max_page_size
    )
    filters = dict(filters or {})
    page = definition.fetch(conn, at, filters, page_request)
    return TableView(definition, page, request.url.path, params, filters, key)


# ---------------------------------------------------------------------- rendering


def language_of(request: Request) -> str:
    """``?lang=``, then the cookie, then ``Accept-Language``, else Bahasa Indonesia."""
    return negotiate(
        request.headers.get("accept-language"),
        (request.query_params.get(LANGUAGE_PARAM), request.cookies.get(LANGUAGE_COOKIE)),
    )


def language_urls(request: Request) -> dict[str, str]:
    """This page in each language: the same path and query string with ``lang`` set."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != LANGUAGE_PARAM]
    return {code: f"{request.url.path}?{urlencode([*params, (LANGUAGE_PARAM, code)])}" for code in LANGUAGES}


def render(request: Request, template: str, at: AsOf, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page with the as-of banner, in the request's language (an explicit choice is remembered)."""
    language = language_of(request)
    body = templates.render(
        template,
        language,
        at=at,
        static=STATIC_URL,
        language_urls=language_urls(request),
        **context,
    )
    response = HTMLResponse(body, status_code=status_code)
    remember_language(request.query_params.get(LANGUAGE_PARAM), response, language)
    return response


def html_page(request: Request, build: Callable[[Connection, AsOf, ExplorerSettings], Response]) -> Response:
    """Runs a page builder in a snapshot; a platform error becomes an HTML error page."""
    try:
        with reading(request) as (conn, at, settings):
            try:
                return build(conn, at, settings)
            except MSCError as exc:
                return render(request, "error.html", at, exc.status_code, error=exc)
    except MSCError as exc:
        empty = AsOf(None, None, None, 0, "default", None, {})
        return render(request, "error.html", empty, exc.status_code, error=exc)


THINGS: Mapping[str, str] = {
    "block": N_("block %(id)s"),
    "transaction": N_("transaction %(id)s"),
    "vintage": N_("vintage %(id)s"),
    "certificate": N_("certificate #%(id)s"),
    "payment": N_("escrow payment %(id)s"),
}
"""What a page may not find, each an English msgid naming it by its id."""
NOT_IN_LEDGER = N_("%(thing)s is not in the ledger as of block %(block)s (it may not be confirmed yet)")


class NotInLedgerError(NotFoundError):
    """A block, transaction, vintage, certificate or payment not in the ledger as of the block shown
    (it may exist above it). Keeps its parts so the error page says it in the visitor's language.

    Args:
        kind: A key of :data:`THINGS`.
        ident: The id looked for.
        block: The as-of block.
    """

    def __init__(self, kind: str, ident: str, block: int | None) -> None:
        self.thing = THINGS[kind]
        self.ident = ident
        self.block = block
        super().__init__(NOT_IN_LEDGER % {"thing": self.thing % {"id": ident}, "block": block})


def not_found(kind: str, ident: object, at: AsOf) -> NotInLedgerError:
    """A not-found error that says the as-of block (it may exist above it)."""
    return NotInLedgerError(kind, str(ident), at.block)


# ---------------------------------------------------------------------- pages


@router.get("", response_class=HTMLResponse, summary="Explorer overview")
def overview_page(request: Request) -> Response:
    """MSC supply, attested reserves, pending payouts, the supply-vs-reserves chart, carbon totals."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        numbers = overview_numbers(conn, at)
        supply_points = [(int(r["block"]), int(r["supply"])) for r in _supply_rows(conn, at)]
        reserve_points = [(int(r["block"]), int(r["reserves"])) for r in queries.attestations(conn, at)]
        first = min([b for b, _ in supply_points + reserve_points] or [at.block or 0])
        graph = chart.build(supply_points, reserve_points, first, max(at.block or 0, first))
        latest = view(request, conn, at, settings, "transactions")
        return render(request, "overview.html", at, n=numbers, chart=graph, latest=latest)

    return html_page(request, build)


def _supply_rows(conn: Connection, at: AsOf) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(queries.supply_history_query(at))]


def overview_numbers(conn: Connection, at: AsOf) -> dict[str, Any]:
    """The overview's figures as exact integers (sen, tonnes), as of the confirmed block."""
    supply = queries.msc_supply(conn, at)
    attested = queries.attestations(conn, at)
    reserves = attested[-1]["reserves"] if attested else None
    pending, pending_count = queries.pending_payouts(conn)
    escrow = 0
    if at.block is not None and at.address(queries.ESCROW):
        escrow = reader.outstanding_escrow(conn, at.confirmations, at.stream, queries.ESCROW)
    carbon = queries.carbon_totals(conn, at)
    margin = None if reserves is None or supply is None else reserves - pending - supply
    return {
        "as_of_block": at.block,
        "msc_supply": supply,
        "attested_reserves": reserves,
        "attestation_reference": attested[-1]["reference"] if attested else None,
        "pending_payouts": pending,
        "pending_payouts_count": pending_count,
        "reserve_margin": margin,
        "escrow_held": escrow,
        "staked_principal": queries.staked_principal(conn, at),
        "carbon_issued": carbon["issued"],
        "carbon_retired": carbon["retired"],
        "carbon_bridged": carbon["bridged"],
        "carbon_verified": carbon["verified"],
        "contracts": at.contracts,
        "reconciliation": _reconciliation_summary(queries.latest_reconciliation(conn, at)),
    }


def _reconciliation_summary(run: dict[str, Any] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "run": run["id"],
        "block": run["block"],
        "ok": run["ok"],
        "checks": run["checks"],
        "failing": run["failing"],
    }


@router.get("/blocks", response_class=HTMLResponse, summary="Blocks")
def blocks_page(request: Request) -> Response:
    """The platform's blocks, newest first."""
    return html_page(
        request,
        lambda conn, at, s: render(
            request, "table_page.html", at, title=N_("Blocks"), tables=[view(request, conn, at, s, "blocks")]
        ),
    )


@router.get("/txs", response_class=HTMLResponse, summary="Transactions")
def transactions_page(request: Request) -> Response:
    """Transactions with platform events, newest first."""
    return html_page(
        request,
        lambda conn, at, s: render(
            request,
            "table_page.html",
            at,
            title=N_("Transactions"),
            tables=[view(request, conn, at, s, "transactions")],
        ),
    )


@router.get("/block/{number}", response_class=HTMLResponse, summary="One block")
def block_page(request: Request, number: BlockNumber) -> Response:
    """A block's header and its platform events."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        if at.block is None or number < 0 or number > at.block:
            raise not_found("block", number, at)
        header = queries.block(conn, at, number)
        events = view(request, conn, at, settings, "events", {"block": str(number)})
        return render(request, "block.html", at, number=number, header=header, events=events)

    return html_page(request, build)


@router.get("/tx/{tx_hash}", response_class=HTMLResponse, summary="One transaction")
def transaction_page(request: Request, tx_hash: str) -> Response:
    """A transaction's platform events."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        tx = catalog.hash_filter({"tx": tx_hash}, "tx")
        assert tx is not None
        block = queries.tx_block(conn, at, tx)
        if block is None:
            raise not_found("transaction", tx, at)
        events = view(request, conn, at, settings, "events", {"tx": tx})
        return render(request, "tx.html", at, tx=tx, block=block, events=events)

    return html_page(request, build)


@router.get("/address/{address}", response_class=HTMLResponse, summary="One address")
def address_page(request: Request, address: str) -> Response:
    """An address's balances, MSC transfers, locks, escrow payments, carbon holdings and retirements."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        account = catalog.address_filter({"address": address}, required=True)
        assert account is not None
        f = {"address": account}
        balance = queries.msc_balances(conn, at, [account]).get(account, 0)
        staked = queries.staked_principal(conn, at, account)
        holdings = queries.carbon_holdings(conn, at, holder=account)
        tables = [
            view(request, conn, at, settings, name, f)
            for name in ("transfers", "locks", "payments", "holdings", "retirements", "trades")
        ]
        return render(
            request,
            "address.html",
            at,
            account=account,
            checksum=Web3.to_checksum_address(account),
            balance=balance,
            staked=staked,
            carbon_total=sum(h["balance"] for h in holdings),
            names={v: k for k, v in at.contracts.items()},
            tables=tables,
        )

    return html_page(request, build)


@router.get("/token", response_class=HTMLResponse, summary="The MSC token")
def token_page(request: Request) -> Response:
    """MSC: supply, holders, supply history and reserve attestations."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        tables = [view(request, conn, at, settings, name) for name in ("holders", "supply", "attestations")]
        return render(
            request,
            "token.html",
            at,
            supply=queries.msc_supply(conn, at),
            token=at.address(queries.MSC),
            holders=tables[0].page.total,
            tables=tables,
        )

    return html_page(request, build)


@router.get("/carbon", response_class=HTMLResponse, summary="Carbon projects and vintages")
def carbon_page(request: Request) -> Response:
    """Projects, vintages with their counters, and every retirement."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        names = ("projects", "vintages", "retirements", "trades")
        tables = [view(request, conn, at, settings, name) for name in names]
        return render(request, "carbon.html", at, totals=queries.carbon_totals(conn, at), tables=tables)

    return html_page(request, build)


@router.get("/carbon/vintage/{token_id}", response_class=HTMLResponse, summary="One vintage")
def vintage_page(request: Request, token_id: Uint256Id) -> Response:
    """A vintage's project, documents by CID, counters, holders, retirements and bridge-backs."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        rows = [r for r in queries.vintages(conn, at) if int(r["token_id"]) == token_id]
        if not rows:
            raise not_found("vintage", token_id, at)
        vintage = rows[0]
        f = {"token_id": str(token_id)}
        return render(
            request,
            "vintage.html",
            at,
            vintage=vintage,
            project=queries.project_of(conn, at, int(vintage["project_key"])),
            bridges=queries.bridge_requests(conn, at, token_id),
            tables=[
                view(request, conn, at, settings, name, f) for name in ("holdings", "retirements", "trades")
            ],
        )

    return html_page(request, build)


@router.get("/certificate/{certificate_id}", response_class=HTMLResponse, summary="A retirement certificate")
def certificate_page(request: Request, certificate_id: Uint256Id) -> Response:
    """A retirement certificate: tonnes, vintage, beneficiary, reason, period, transaction."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        row = queries.certificate(conn, at, certificate_id)
        if row is None:
            raise not_found("certificate", certificate_id, at)
        rows = [r for r in queries.vintages(conn, at) if int(r["token_id"]) == int(row["token_id"])]
        project = queries.project_of(conn, at, int(rows[0]["project_key"])) if rows else None
        return render(
            request, "certificate.html", at, c=row, vintage=rows[0] if rows else None, project=project
        )

    return html_page(request, build)


@router.get("/payment/{payment_id}", response_class=HTMLResponse, summary="An escrow payment")
def payment_page(request: Request, payment_id: str) -> Response:
    """An escrow payment: merchant, payer, amounts held, released and refunded, status."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        pid = catalog.hash_filter({"payment": payment_id}, "payment")
        assert pid is not None
        row = queries.escrow_payment(conn, at, pid)
        if row is None:
            raise not_found("payment", pid, at)
        return render(request, "payment.html", at, p=row, pi=queries.settlement_payment(conn, pid))

    return html_page(request, build)


@router.get("/anomalies", response_class=HTMLResponse, summary="Anomaly flags and reconciliation")
def anomalies_page(request: Request, status: str = "", kind: str = "") -> Response:
    """Flags of the anomaly scanner (filter by review status and kind) and the latest reconciliation."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        filters = {k: v for k, v in (("status", status), ("kind", kind)) if v}
        flags = view(request, conn, at, settings, "anomalies", filters)
        checks = view(request, conn, at, settings, "reconciliation")
        return render(
            request,
            "anomalies.html",
            at,
            flags=flags,
            checks=checks,
            run=queries.latest_reconciliation(conn, at),
            statuses=catalog.FLAG_STATUSES,
            kinds=queries.anomaly_kinds(conn),
            status=status,
            kind=kind,
        )

    return html_page(request, build)


@router.get("/search", response_class=HTMLResponse, summary="Search")
def search_page(request: Request, q: str = Query(default="", max_length=search.MAX_QUERY)) -> Response:
    """Goes straight to the one thing found; lists them when several; says so when none."""

    def build(conn: Connection, at: AsOf, settings: ExplorerSettings) -> Response:
        found = search.search(conn, at, q)
        if len(found) == 1:
            return RedirectResponse(found[0].url, status_code=303)
        return render(request, "search.html", at, 200 if found else 404, q=q, found=found)

    return html_page(request, build)


DOCUMENT_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"
"""The policy of a served document: nothing runs or loads, in a unique origin (stricter than the app's)."""


@router.get("/documents/{cid}", summary="A carbon vintage's document by CID")
def document(request: Request, cid: str = Path(max_length=200)) -> Response:
    """The bytes of a verification document or metadata file a confirmed vintage names, verified
    against its CID on the way out (the store re-hashes them), from the local document store.

    Only CIDs the ledger publishes are served: the store may hold documents of projects not
    verified yet, which are not public.
    """
    if not CID_TEXT.match(cid):
        raise ValidationError(f"not a CID: {cid[:80]!r}", field="cid")
    settings = explorer_settings(request)
    with reading(request) as (conn, at, _settings):
        published = queries.published_cid(conn, at, cid)
    if not published:
        raise NotFoundError(f"no vintage confirmed by block {at.block} publishes document {cid[:80]}")
    if settings.documents_dir is None:
        raise NotFoundError(
            f"this explorer keeps no document store; fetch ipfs://{cid} from an IPFS gateway", cid=cid
        )
    data = LocalDocumentStore(settings.documents_dir).get(cid)
    headers = {
        "Content-Disposition": f'inline; filename="{cid}"',
        "X-Content-Type-Options": "nosniff",
        # Bytes someone else wrote: never a page with scripts, forms or this origin's rights.
        "Content-Security-Policy": DOCUMENT_CSP,
    }
    return Response(data, media_type=_media_type(data), headers=headers)


def _media_type(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    try:
        json.loads(text)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


# ---------------------------------------------------------------------- read API and exports


def _export_request(
    params: Mapping[str, str], definition: TableDef, settings: ExplorerSettings
) -> PageRequest:
    # Parsed like a page (validates sort/dir), then unpaged up to the export cap (+1 to detect more).
    parsed = parse_request(
        {k: v for k, v in params.items() if k in ("sort", "dir")}, "", definition.columns, 1, 1
    )
    return PageRequest(page=1, size=settings.max_export_rows + 1, sort=parsed.sort, desc=parsed.desc)


@router.get("/export/{name}.{fmt}", summary="Export a table as CSV or JSON")
def export_table(request: Request, name: str, fmt: str) -> Response:
    """The whole table (its filters, its order) with exact integers; ``fmt`` is ``csv`` or ``json``."""
    if fmt not in ("csv", "json"):
        raise ValidationError(f"exports are csv or json, not {fmt!r}", format=fmt)
    definition = catalog.table(name)
    params = dict(request.query_params)
    with reading(request) as (conn, at, settings):
        page = definition.fetch(
            conn, at, _filters(params, definition), _export_request(params, definition, settings)
        )
    if page.total > settings.max_export_rows:
        raise ValidationError(
            f"{name} has {page.total} rows, more than one export carries "
            f"({settings.max_export_rows}); filter it",
            total=page.total,
        )
    filename = f"msc-{name}-block-{at.block}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "X-As-Of-Block": str(at.block)}
    if fmt == "csv":
        return Response(to_csv(page), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(to_json(page, name, at.block), media_type="application/json", headers=headers)


def _filters(params: Mapping[str, str], definition: TableDef) -> dict[str, str]:
    return {k: v for k, v in params.items() if k in definition.filters}


@router.get("/api/tables/{name}", summary="One page of a table (JSON)")
def api_table(request: Request, name: str) -> Response:
    """A page of table ``name``: ``page``, ``size``, ``sort``, ``dir`` and the table's filters."""
    definition = catalog.table(name)
    params = dict(request.query_params)
    with reading(request) as (conn, at, settings):
        req = parse_request(params, "", definition.columns, settings.page_size, settings.max_page_size)
        page = definition.fetch(conn, at, _filters(params, definition), req)
    document = json.loads(to_json(page, name, at.block))
    document.update(page=req.page, size=req.size, pages=page.pages)
    return Response(json.dumps(document), media_type="application/json")


@router.get("/api/overview", summary="The overview's figures (JSON)")
def api_overview(request: Request) -> JSONResponse:
    """Supply, reserves, pending payouts, escrow, staking and carbon totals as exact integers."""
    with reading(request) as (conn, at, _settings):
        numbers = overview_numbers(conn, at)
        numbers.update(checkpoint=at.checkpoint, head=at.head, confirmations=at.confirmations)
    return JSONResponse(numbers)
