"""The monthly public report on the web: explorer pages, CSV, JSON, PDF and ``/v1/reports/monthly``."""
