"""Audit tooling for the MSC platform: offline checks auditors run over the chain's activity."""
