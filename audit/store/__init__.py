"""SQL home of the audit results: anomaly flags, anomaly scans and reconciliation runs/checks."""
