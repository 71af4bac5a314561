"""CSV exports: the mapping spec, reading the file, `opstrack import csv`."""
