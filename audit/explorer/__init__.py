"""The public ledger explorer: server-rendered pages and a read API over the indexer's mirror.

Everything shown is as of the mirror's confirmed block (``MSC_EXPLORER_CONFIRMATIONS`` blocks
below the head the indexer last saw), so a reorg the indexer will undo never reaches a citizen's
screen. Pages need no API key; every table pages and sorts on the server and exports as CSV and
JSON with exact integer amounts.
"""
