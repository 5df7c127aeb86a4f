"""The results layer (layer 1, above the core modules only): owns the on-disk results format.

    <results>/<tracker>/<split_key>/<seq>.txt          x,y,w,h per frame, comma, full precision
                                    <seq>_time.txt     seconds per frame
                                    <seq>_scores.txt   confidence per frame (optional)
                                    run.json           the run manifest
                                    errors.log         tracebacks of failed sequences
                                    .mfv2bench-*.npz   parse and score caches
    <results>/<tracker>/speed/<device>-<threads>t-b<batch>-<precision>.json

What it owns: the paths (``layout``), the store with its locks and manifests (``store``,
``manifest``), the one atomic write (``atomic``), the one box-text parser and formatter
(``boxtext``, with its fast paths in ``fastparse``), the readers of every raw-results layout
with their parse cache (``readers``), the keyed score cache (``score_cache``) and the importer
of others' raw results (``importer``). Every other package reads and writes results through it.
It takes sequence names, frame counts and GT arrays as plain data, never data-set objects.
"""

from .atomic import atomic_write
from .boxtext import (GROUND_TRUTH, RESULTS, RESULTS_KEEP_NAN, SUBMISSION, BoxSyntax,
                      format_boxes, format_column, parse_boxes)
from .importer import ImportResult, SplitSequences, import_results
from .layout import run_folder, speed_file_name, speed_folder, tracker_folder
from .readers import RawResult, locate_results, read_results, read_store
from .store import ResultsStore, StoreLock

__all__ = [
    "BoxSyntax", "GROUND_TRUTH", "ImportResult", "RESULTS", "RESULTS_KEEP_NAN", "RawResult",
    "ResultsStore", "SUBMISSION", "SplitSequences", "StoreLock", "atomic_write", "format_boxes",
    "format_column", "import_results", "locate_results", "parse_boxes", "read_results",
    "read_store", "run_folder", "speed_file_name", "speed_folder", "tracker_folder",
]
