"""The episode log (format, reader, writer) and the importers of real runs: the one data format every part reads."""
