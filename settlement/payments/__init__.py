"""Pi payments: their records and their SEP-24-style status machine (no Pi or chain calls here)."""
