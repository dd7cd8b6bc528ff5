"""What the units of a hospital share: departments that own defects (and, in a hospital,
the float pool, the quality team and hospital leadership)."""
