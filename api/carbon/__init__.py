"""The carbon buyers' API: credits on offer, relayed signed retirements, and certificates."""
