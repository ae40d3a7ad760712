"""Round trips and cycles: money that leaves an account and comes back through a few others.

Layering moves an amount around a small ring (A -> B -> C -> A) to blur its origin, each hop
keeping roughly the same amount, all within days. The search is done on the sparse graph of
large enough transfers between non-hub accounts: edges outside a strongly connected component can
lie on no cycle and are dropped first (scipy's SCC), then a time-respecting depth-first search
from each remaining edge follows later hops of similar amount until it returns to the start.
Each cycle is found once, from its earliest hop.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from audit.anomaly.flags import CYCLE, Flag, rupiah
from audit.anomaly.rules.context import RuleContext
from audit.anomaly.trades import MSC, IntArray


def _cycle_edges(ctx: RuleContext) -> IntArray:
    """Positions of candidate hops that lie inside a strongly connected component."""
    table, cfg = ctx.table, ctx.config.cycle
    hub = ctx.owners.hub
    mask = ctx.active & table.kind_mask(cfg.kinds) & (table.token == MSC)
    mask &= (table.amount >= cfg.min_amount_sen) & (table.sender != table.receiver)
    mask &= ~hub[table.sender] & ~hub[table.receiver]
    positions = np.flatnonzero(mask)
    if len(positions) < 2:
        return positions[:0]
    nodes, inverse = np.unique(
        np.concatenate((table.sender[positions], table.receiver[positions])), return_inverse=True
    )
    src, dst = inverse[: len(positions)], inverse[len(positions) :]
    graph = coo_matrix((np.ones(len(positions)), (src, dst)), shape=(len(nodes), len(nodes))).tocsr()
    _, component = connected_components(graph, directed=True, connection="strong")
    return positions[component[src] == component[dst]]


def detect_cycles(ctx: RuleContext) -> list[Flag]:
    """Flags simple cycles of 2..max_length hops with conserved amounts inside the time window."""
    table, cfg = ctx.table, ctx.config.cycle
    edges = _cycle_edges(ctx)
    if len(edges) == 0:
        return []
    window = cfg.window_hours * 3600
    tol_bps = round(cfg.amount_tolerance * 10_000)
    ts = table.ts.tolist()
    amount = table.amount.tolist()
    sender = table.sender.tolist()
    receiver = table.receiver.tolist()
    out: dict[int, list[int]] = defaultdict(list)
    for e in edges.tolist():
        out[sender[e]].append(e)  # positions are time-sorted, so each list is too
    budget = cfg.max_search_steps
    found: list[list[int]] = []
    for first in edges.tolist():
        start, a0, t0 = sender[first], amount[first], ts[first]
        deadline = t0 + window
        stack: list[tuple[int, list[int], set[int]]] = [(receiver[first], [first], {start, receiver[first]})]
        while stack and budget > 0:
            node, path, visited = stack.pop()
            t_prev = ts[path[-1]]
            for e in out.get(node, ()):
                te = ts[e]
                if te < t_prev or e == path[-1]:
                    continue
                if te > deadline:
                    break
                budget -= 1
                if abs(amount[e] - a0) * 10_000 > tol_bps * a0:
                    continue
                nxt = receiver[e]
                if nxt == start and e != first:
                    found.append([*path, e])
                elif nxt not in visited and len(path) + 1 < cfg.max_length:
                    stack.append((nxt, [*path, e], visited | {nxt}))
        if budget <= 0:
            ctx.notes.append(
                f"cycle search stopped after cycle.max_search_steps={cfg.max_search_steps} steps; "
                "later cycles may be missed"
            )
            break
    flags = []
    seen: set[frozenset[int]] = set()
    for cycle in found:
        key = frozenset(cycle)
        if key in seen:
            continue
        seen.add(key)
        amounts = [amount[e] for e in cycle]
        deviation = max(abs(a - amounts[0]) for a in amounts) / amounts[0]
        hours = (ts[cycle[-1]] - ts[cycle[0]]) / 3600
        accounts = ctx.account_names([sender[e] for e in cycle])
        shape = "round trip" if len(cycle) == 2 else f"{len(cycle)}-account cycle"
        reason = (
            f"{shape} {' -> '.join((*accounts, accounts[0]))} of {rupiah(amounts[0])} closed in "
            f"{hours:.1f} h, amounts within {deviation:.1%}"
        )
        score = 0.6 + 0.4 * (1.0 - deviation / max(cfg.amount_tolerance, 1e-9))
        flags.append(Flag(CYCLE, float(min(1.0, max(0.6, score))), table.hashes(cycle), reason, accounts))
    return flags
