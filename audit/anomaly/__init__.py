"""Trade anomaly detection for auditors: strict CSV input, explainable rules and an IsolationForest.

The detector runs offline on a CSV export of trades (later fed from the SQL mirror of the chain)
and produces flags an auditor reviews: which rule or model fired, a score, the evidence (the
transaction hashes and, for the model, the features that drove the score) and a review status.
Entry points: :func:`audit.anomaly.detector.detect`, :class:`audit.anomaly.model.AnomalyModel`
and the ``python -m audit.anomaly`` command line (:mod:`audit.anomaly.cli`).
"""
