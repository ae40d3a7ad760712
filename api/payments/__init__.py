"""Payments over HTTP: create from a Pi callback, cancel, and the merchant's view with history."""
