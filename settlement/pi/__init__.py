"""Pi Network settlement: the Pi Platform API client and the Pi blockchain (Horizon) client."""
