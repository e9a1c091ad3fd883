"""Storage: one interface (`Store`) with SQL backends behind it."""
