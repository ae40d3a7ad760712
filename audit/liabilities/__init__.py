"""Proof of liabilities: a Merkle-sum tree over what the platform owes each merchant off-chain,
published monthly on LiabilityAttestation, with a proof per merchant (issue 15)."""
