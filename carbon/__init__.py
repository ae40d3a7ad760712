"""Carbon credits: documents, metadata and registry sync."""
