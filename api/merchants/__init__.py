"""Merchants: who they are, where they trade, and the wallet and Pi account they are paid to."""
