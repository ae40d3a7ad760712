"""Errors of the anomaly detector, all rooted in :class:`common.errors.MSCError`.

Bad *rows* are not errors: the parser reports and skips them. These are for the cases where a
run cannot go on at all (no readable input file, no header, a broken config or model file).
"""

from __future__ import annotations

from common.errors import ConfigurationError, ConflictError, MSCError, ValidationError


class AnomalyError(MSCError):
    """Root of the anomaly detector's own errors."""

    code = "anomaly_error"
    status_code = 500


class InputFileError(AnomalyError):
    """The trades file is missing, unreadable or not a trades CSV (e.g. required columns absent)."""

    code = "anomaly_input_file"
    status_code = 422


class DetectorConfigError(ConfigurationError):
    """The detector's config file is unreadable, has an unknown key or a value of the wrong type."""

    code = "anomaly_config"


class ModelFileError(AnomalyError):
    """A persisted model cannot be loaded or does not match this code's feature list."""

    code = "anomaly_model_file"


class FlagReviewError(ConflictError):
    """An auditor tried a status change a flag does not allow (e.g. re-opening a dismissed flag)."""

    code = "anomaly_flag_review"


class GeneratorSettingsError(ValidationError):
    """The evaluation generator was given settings it cannot honour."""

    code = "anomaly_generator_settings"
