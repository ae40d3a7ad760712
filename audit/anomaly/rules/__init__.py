"""The explainable rules; each module holds one rule with the signature ``(RuleContext) -> list[Flag]``."""
