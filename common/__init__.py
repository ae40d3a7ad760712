"""Shared kernel of the MSC platform: the error root, settings loading and money helpers.

Every other package may import from here; this package imports from none of them.
"""
