"""The command centre forecasts over HTTP: ``/v1/forecasts`` and ``/explorer/forecasts``."""
