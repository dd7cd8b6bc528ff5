"""Results on disk: folders written atomically, whose files careos-sim owns, with provenance."""
