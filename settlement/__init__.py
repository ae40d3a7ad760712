"""Settlement: moving value between the platform, merchants and external networks."""
