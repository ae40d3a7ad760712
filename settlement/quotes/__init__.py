"""Firm Pi -> IDR quotes in the shape of Stellar SEP-38, with exact integer arithmetic."""
