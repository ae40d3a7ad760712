"""The indexer: mirrors every event of the platform's deployed contracts into SQL.

One pipeline serves backfill and live follow (``indexer.pipeline``); it is reorg-safe (orphaned
blocks are rolled back with everything derived from them) and resumable (each range is written
with its checkpoint in one transaction). Stages: ``rpc`` fetches, ``registry`` decodes,
``projections`` derive tables, ``store`` writes, ``cli`` runs it.
"""
