"""HTTP face of firm Pi -> IDR quotes (SEP-38 shape) over :mod:`settlement.quotes`."""
