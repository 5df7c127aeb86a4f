"""Server submission files (GOT-10k test, TrackingNet TEST): packers that validate their own output."""

from .pack import (FORMATS, SubmissionFormat, SubmissionReport, format_for_dataset, pack_submission,
                   validate_submission)

__all__ = ["FORMATS", "SubmissionFormat", "SubmissionReport", "format_for_dataset",
           "pack_submission", "validate_submission"]
