"""The city's side of the platform: its kelurahan, and (as it grows) the command centre's indexes."""
