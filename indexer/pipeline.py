"""The indexing pipeline: one code path for backfill and live follow.

Each step takes the next block range after the stream's checkpoint and

1. checks that the checkpoint block is still canonical (its hash on the node); if not, finds the
   common ancestor among the stored blocks, reverts the projections with the orphaned events,
   deletes everything above the ancestor and moves the checkpoint back, then carries on;
2. fetches the range's logs (adaptive eth_getLogs) and the headers it needs (range ends, blocks
   with logs, and every block near the head), and checks that they agree: each log's block hash
   is its header's, headers chain by parent hash, and the first block's parent is the
   checkpoint. Disagreement means the chain moved mid-fetch: the step is retried;
3. decodes the logs (failures are stored raw with a status and reported, never fatal);
4. writes blocks, raw logs, decoded events, derived rows and the new checkpoint in ONE
   transaction, the checkpoint by compare-and-set.

During ``run``, steps 2-3 of the next range (fetching, checking, decoding and formatting its
rows) run in a worker thread while step 4 of the current range waits on the database: the
prefetched range is used only if it starts right after the checkpoint just committed and links to
it by hash; otherwise it is dropped and fetched again. Nothing is written from the worker.

So a crash loses at most the uncommitted range, a replay stores nothing twice (unique keys,
ON CONFLICT DO NOTHING; derived rows are only touched by ranges past the checkpoint), and
backfill hands over to follow with neither gap nor duplicate: both are this loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from common.errors import MSCError
from indexer.errors import ChainChangedError, RpcError, RpcUnavailableError
from indexer.metrics import IndexerMetrics
from indexer.models import LogStatus
from indexer.projections import EventRecord, ProjectionSet
from indexer.registry import Registry
from indexer.rpc import Header, LogFetcher, RpcClient
from indexer.settings import IndexerSettings
from indexer.store import (
    BLOCKS,
    DECODED,
    DECODED_COLUMNS,
    RAW_COLUMNS,
    RAW_LOGS,
    BulkRows,
    CheckpointState,
    bulk_insert_ignore,
    copy_lines,
    decoded_line,
    delete_above,
    has_rows_above,
    load_checkpoint,
    move_checkpoint,
    raw_log_line,
    stored_blocks_below,
    upsert,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """A log stored raw because it could not be decoded (reported, never fatal)."""

    block_number: int
    log_index: int
    address: str
    status: LogStatus
    error: str


@dataclass(frozen=True)
class StepResult:
    """What one step did.

    Attributes:
        from_block / to_block: The range committed (empty when idle or after a reorg).
        logs: Logs written.
        head: The node's head when the step started.
        reorg_depth: Blocks rolled back (0: no reorg).
        idle: Nothing to do: the checkpoint is at the head (minus confirmations).
        problems: Logs stored raw only.
    """

    from_block: int
    to_block: int
    logs: int
    head: int
    reorg_depth: int = 0
    idle: bool = False
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def blocks(self) -> int:
        """Blocks committed by the step."""
        return max(0, self.to_block - self.from_block + 1)


@dataclass
class Batch:
    """One range fetched, checked and decoded, ready to commit (built by :meth:`Pipeline.prepare`).

    Attributes:
        after: The checkpoint the range follows (its block and hash).
        first / last: The range.
        head: The node's head when the range was fetched.
        headers: The headers fetched for it (range ends, blocks with logs, near-head blocks).
        blocks / raw / decoded: Rows for ``blocks``, ``raw_logs`` and ``decoded_events`` (the last
            two as COPY text on PostgreSQL).
        records: Decoded events for the projections, in chain order.
        problems: Logs stored raw only.
    """

    after: CheckpointState
    first: int
    last: int
    head: int
    headers: dict[int, Header]
    blocks: list[dict[str, Any]]
    raw: BulkRows
    decoded: BulkRows
    records: list[EventRecord]
    problems: tuple[Problem, ...]

    @property
    def logs(self) -> int:
        """Logs in the range."""
        return self.raw.count

    def follows(self, cp: CheckpointState) -> bool:
        """Whether this batch starts right after ``cp`` and links to it by hash."""
        return self.after.block_number == cp.block_number and self.after.block_hash == cp.block_hash


_STATUS_TEXT = {status: status.value for status in LogStatus}
"""Each status's text (an enum member's ``.value`` is a descriptor call, and this runs per log)."""


def jsonable(value: Any) -> Any:
    """A decoded value in the ``decoded_events.args`` JSON convention (ints as decimal strings)."""
    kind = type(value)
    if kind is str:  # the common cases first: this runs for every argument of every event
        return value
    if kind is int:
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class Pipeline:
    """Indexes the registry's contracts into one database for one checkpoint stream."""

    def __init__(
        self,
        engine: Engine,
        rpc: RpcClient,
        registry: Registry,
        projections: ProjectionSet,
        settings: IndexerSettings,
        metrics: IndexerMetrics | None = None,
    ) -> None:
        self.engine = engine
        self.rpc = rpc
        self.registry = registry
        self.projections = projections
        self.settings = settings
        self.stream = settings.stream
        self.metrics = metrics or IndexerMetrics()
        self.fetcher = LogFetcher(
            rpc,
            registry.addresses,
            initial_span=settings.initial_span,
            min_span=settings.min_span,
            max_span=settings.max_span,
            target_logs=settings.target_logs,
            max_logs=settings.max_logs_per_request,
        )
        self._workers: ThreadPoolExecutor | None = None
        self._next: Future[Batch] | None = None

    # ------------------------------------------------------------------ loop

    def run(
        self,
        *,
        follow: bool,
        stop_at: int | None = None,
        on_step: Callable[[StepResult], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """Steps until caught up (``follow=False``) or until ``should_stop`` (``follow=True``).

        Args:
            follow: Keep polling for new blocks instead of returning once caught up.
            stop_at: Never index past this block.
            on_step: Called after every step (progress bars, tests).
            should_stop: Polled between steps; True ends the loop.

        Raises:
            RpcError / RpcUnavailableError: backfill only; follow keeps retrying.
        """
        self.sweep()
        self._workers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-prefetch")
        try:
            self._loop(follow, stop_at, on_step, should_stop)
        finally:
            workers, self._workers = self._workers, None
            self._drop_prefetch()
            workers.shutdown(wait=True)

    def _loop(
        self,
        follow: bool,
        stop_at: int | None,
        on_step: Callable[[StepResult], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        while should_stop is None or not should_stop():
            try:
                result = self.step(stop_at)
            except ChainChangedError as exc:
                self.metrics.error("chain_changed")
                log.info("retrying the range: %s", exc.message)
                time.sleep(min(self.settings.poll_interval_s, 0.2))
                continue
            except (RpcError, RpcUnavailableError) as exc:
                self.metrics.error("rpc_gave_up")
                if not follow:
                    raise
                log.warning("node unavailable, will retry: %s", exc.message)
                time.sleep(self.settings.poll_interval_s)
                continue
            if on_step is not None:
                on_step(result)
            if result.idle:
                if not follow or (stop_at is not None and result.to_block >= stop_at):
                    return
                time.sleep(self.settings.poll_interval_s)

    def checkpoint(self) -> CheckpointState:
        """The stream's checkpoint, or the block before the first followed contract's deployment."""
        with self.engine.connect() as conn:
            state = load_checkpoint(conn, self.stream)
        return state or CheckpointState(self.registry.start_block - 1, None, 0)

    def sweep(self) -> None:
        """Removes anything stored above the checkpoint (none after atomic commits; cheap to check)."""
        with self.engine.begin() as conn:
            state = load_checkpoint(conn, self.stream, lock=True)
            floor = state.block_number if state else self.registry.start_block - 1
            if has_rows_above(conn, floor):
                log.warning("rows above checkpoint %d found: rolling them back", floor)
                self._rollback(conn, floor)

    # ------------------------------------------------------------------ one step

    def step(self, stop_at: int | None = None) -> StepResult:
        """Indexes the next range (or handles a reorg); see the module docstring.

        Raises:
            ChainChangedError: the chain moved while the range was fetched; call again.
        """
        if self._next is not None:  # the worker is done with the node before this thread uses it
            wait([self._next])
        head = self.rpc.block_number()
        stored = self._stored_checkpoint()
        cp = stored or CheckpointState(self.registry.start_block - 1, None, 0)
        if cp.block_hash is not None:
            tip = self.rpc.headers([cp.block_number], missing_ok=True).get(cp.block_number)
            if tip is None or tip.hash != cp.block_hash:
                return self._handle_reorg(cp, head)
        target = head - self.settings.confirmations
        if stop_at is not None:
            target = min(target, stop_at)
        self.metrics.head_lag.set(max(0, head - cp.block_number))
        if cp.block_number >= target:
            return StepResult(cp.block_number + 1, cp.block_number, 0, head, idle=True)
        batch = self._take_prefetched(cp, target)
        if batch is None:
            first = cp.block_number + 1
            batch = self.prepare(cp, first, min(target, first + self.fetcher.span - 1), head)
        if self._workers is not None and batch.last < target:
            after = CheckpointState(batch.last, batch.headers[batch.last].hash, head)
            first = batch.last + 1
            last = min(target, first + self.fetcher.span - 1)
            self._next = self._workers.submit(self.prepare, after, first, last, head)
        self._commit(stored, batch, head)
        self.metrics.head_lag.set(max(0, head - batch.last))
        self.metrics.checkpoint.set(batch.last)
        return StepResult(batch.first, batch.last, batch.logs, head, problems=batch.problems)

    def _take_prefetched(self, cp: CheckpointState, target: int) -> Batch | None:
        """The prefetched batch if it continues ``cp`` within ``target``; else None (it is dropped)."""
        future, self._next = self._next, None
        if future is None:
            return None
        try:
            batch = future.result()
        except MSCError as exc:  # the range is fetched again in this thread, where errors count
            log.info("prefetched range dropped: %s", exc.message)
            return None
        return batch if batch.follows(cp) and batch.last <= target else None

    def _drop_prefetch(self) -> None:
        future, self._next = self._next, None
        if future is not None:
            future.cancel()
            try:
                future.result()
            except Exception:  # the batch is thrown away, and with it its failure
                log.debug("prefetch ended with an error", exc_info=True)

    def prepare(self, cp: CheckpointState, first: int, last: int, head: int) -> Batch:
        """Fetches, checks and decodes ``[first, last]`` after checkpoint ``cp``; writes nothing.

        Raises:
            ChainChangedError: the chain moved while the range was fetched.
        """
        logs = self.fetcher.fetch(first, last)
        headers = self._headers_for(first, last, head, cp, logs)
        self._check_consistency(first, last, cp, headers, logs)
        return self._rows(cp, first, last, head, headers, logs)

    def _stored_checkpoint(self) -> CheckpointState | None:
        with self.engine.connect() as conn:
            return load_checkpoint(conn, self.stream)

    def _headers_for(
        self, first: int, last: int, head: int, cp: CheckpointState, logs: Sequence[dict[str, Any]]
    ) -> dict[int, Header]:
        numbers = {first, last}
        numbers.update(int(text, 16) for text in {lg["blockNumber"] for lg in logs})
        window_start = max(first, head - self.settings.reorg_window + 1)
        numbers.update(range(window_start, last + 1))
        if cp.block_hash is not None:
            numbers.add(cp.block_number)
        return self.rpc.headers(numbers, self.settings.header_batch_size)

    @staticmethod
    def _check_consistency(
        first: int, last: int, cp: CheckpointState, headers: dict[int, Header], logs: Sequence[dict[str, Any]]
    ) -> None:
        if cp.block_hash is not None and (
            headers[cp.block_number].hash != cp.block_hash or headers[first].parent_hash != cp.block_hash
        ):
            raise ChainChangedError(f"block {first} no longer follows the checkpoint")
        for number, header in headers.items():
            parent = headers.get(number - 1)
            if parent is not None and header.parent_hash != parent.hash:
                raise ChainChangedError(f"headers {number - 1} and {number} do not link")
        # Per distinct (number, hash) pair rather than per log: a range has far fewer blocks than logs.
        for number_text, block_hash in {(lg["blockNumber"], lg["blockHash"]) for lg in logs}:
            number = int(number_text, 16)
            if headers[number].hash != str(block_hash).lower():
                raise ChainChangedError(f"a log of block {number} belongs to another fork")
        if any(lg.get("removed") for lg in logs):
            raise ChainChangedError("the node marked a log of the range as removed")

    def _rows(
        self,
        cp: CheckpointState,
        first: int,
        last: int,
        head: int,
        headers: dict[int, Header],
        logs: Sequence[dict[str, Any]],
    ) -> Batch:
        """Decodes the logs and builds every row of the range (as COPY text on PostgreSQL).

        Raises:
            RpcError: the node sent hex text with tabs or newlines in it (PostgreSQL only).
        """
        copy = self.engine.dialect.name == "postgresql"
        raw_rows: list[dict[str, Any]] = []
        decoded_rows: list[dict[str, Any]] = []
        raw_lines: list[str] = []
        decoded_lines: list[str] = []
        records: list[EventRecord] = []
        problems: list[Problem] = []
        decode = self.registry.decode
        for lg in logs:
            topics = [t.lower() for t in lg["topics"]]
            address = lg["address"].lower()
            number = int(lg["blockNumber"], 16)
            log_index = int(lg["logIndex"], 16)
            block_hash = lg["blockHash"].lower()
            tx_hash = lg["transactionHash"].lower()
            tx_index = int(lg["transactionIndex"], 16)
            result = decode(address, topics, lg["data"])
            slots: Any = (*topics, None, None, None, None)[:4]
            status = _STATUS_TEXT[result.status]
            if copy:
                raw_lines.append(
                    raw_log_line(
                        number,
                        block_hash,
                        log_index,
                        tx_hash,
                        tx_index,
                        address,
                        slots,
                        lg["data"],
                        status,
                        result.error,
                    )
                )
            else:
                raw_rows.append(
                    {
                        "block_number": number,
                        "block_hash": block_hash,
                        "log_index": log_index,
                        "tx_hash": tx_hash,
                        "tx_index": tx_index,
                        "address": address,
                        "topic0": slots[0],
                        "topic1": slots[1],
                        "topic2": slots[2],
                        "topic3": slots[3],
                        "data": lg["data"],
                        "removed": False,
                        "status": status,
                        "error": result.error,
                    }
                )
            decoded = result.decoded
            if decoded is None:
                problems.append(Problem(number, log_index, address, result.status, result.error or ""))
                continue
            args = {k: jsonable(v) for k, v in decoded.args.items()}
            if copy:
                decoded_lines.append(
                    decoded_line(
                        number, block_hash, log_index, tx_hash, address, decoded.contract, decoded.event, args
                    )
                )
            else:
                decoded_rows.append(
                    {
                        "block_number": number,
                        "block_hash": block_hash,
                        "log_index": log_index,
                        "tx_hash": tx_hash,
                        "address": address,
                        "contract": decoded.contract,
                        "event": decoded.event,
                        "args": args,
                    }
                )
            records.append(
                EventRecord(
                    number,
                    block_hash,
                    log_index,
                    tx_hash,
                    address,
                    decoded.contract,
                    decoded.event,
                    decoded.args,
                )
            )
        block_rows = [
            {"number": h.number, "hash": h.hash, "parent_hash": h.parent_hash, "timestamp": h.timestamp}
            for h in sorted(headers.values(), key=lambda h: h.number)
            if h.number >= first
        ]
        if copy:
            raw_text = copy_lines(raw_lines, len(RAW_COLUMNS))
            decoded_text = copy_lines(decoded_lines, len(DECODED_COLUMNS))
            if raw_text is None or decoded_text is None:
                raise RpcError(
                    "eth_getLogs", 0, f"blocks {first}-{last}: a log's hex text holds tabs or newlines"
                )
            raw = BulkRows.of_copy(RAW_LOGS, RAW_COLUMNS, raw_text, len(raw_lines))
            events = BulkRows.of_copy(DECODED, DECODED_COLUMNS, decoded_text, len(decoded_lines))
        else:
            raw, events = BulkRows(RAW_LOGS, raw_rows), BulkRows(DECODED, decoded_rows)
        return Batch(cp, first, last, head, headers, block_rows, raw, events, records, tuple(problems))

    def _commit(self, expected: CheckpointState | None, batch: Batch, head: int) -> None:
        """Writes the batch and moves the checkpoint in one transaction; reports its problems."""
        new = CheckpointState(batch.last, batch.headers[batch.last].hash, head)
        with self.engine.begin() as conn:
            upsert(conn, BLOCKS, batch.blocks, ("number",))
            bulk_insert_ignore(conn, RAW_LOGS, batch.raw)
            bulk_insert_ignore(conn, DECODED, batch.decoded)
            self.projections.apply(conn, batch.records)
            move_checkpoint(conn, self.stream, expected, new)
        problems, records = batch.problems, batch.records
        for problem in problems:
            self.metrics.error(problem.status.value)
            log.warning(
                "log %d of block %d from %s stored raw (%s): %s",
                problem.log_index,
                problem.block_number,
                problem.address,
                problem.status.value,
                problem.error,
            )
        self.metrics.events.labels(status="decoded").inc(len(records))
        if problems:
            self.metrics.events.labels(status="raw_only").inc(len(problems))

    # ------------------------------------------------------------------ reorgs

    def _handle_reorg(self, cp: CheckpointState, head: int) -> StepResult:
        ancestor = self._find_ancestor(cp)
        floor = self.registry.start_block - 1
        number, block_hash = ancestor if ancestor is not None else (floor, None)
        with self.engine.begin() as conn:
            move_checkpoint(conn, self.stream, cp, CheckpointState(number, block_hash, head))
            self._rollback(conn, number)
        depth = cp.block_number - number
        self.metrics.reorgs.inc()
        self.metrics.reorg_depth.set(depth)
        log.warning("reorg: rolled back %d blocks to %d", depth, number)
        return StepResult(number + 1, number, 0, head, reorg_depth=depth)

    def _find_ancestor(self, cp: CheckpointState) -> tuple[int, str] | None:
        """The highest stored block the node still has with the same hash (None: none does)."""
        below = cp.block_number + 1
        while True:
            with self.engine.connect() as conn:
                stored = stored_blocks_below(conn, below, self.settings.reorg_window)
            if not stored:
                return None
            node = self.rpc.headers([n for n, _ in stored], self.settings.header_batch_size, missing_ok=True)
            for number, block_hash in stored:
                header = node.get(number)
                if header is not None and header.hash == block_hash:
                    return number, block_hash
            below = stored[-1][0]

    def _rollback(self, conn: Connection, ancestor: int) -> None:
        """Reverts projections with the events above ``ancestor`` and deletes those rows."""
        keys = self.projections.keys
        rows = conn.execute(
            select(
                DECODED.c.block_number,
                DECODED.c.block_hash,
                DECODED.c.log_index,
                DECODED.c.tx_hash,
                DECODED.c.address,
                DECODED.c.contract,
                DECODED.c.event,
                DECODED.c.args,
            )
            .where(DECODED.c.block_number > ancestor)
            .order_by(DECODED.c.block_number, DECODED.c.log_index)
        )
        orphaned = [EventRecord(*row) for row in rows if (row.contract, row.event) in keys]
        self.projections.revert(conn, orphaned, ancestor)
        delete_above(conn, ancestor)
