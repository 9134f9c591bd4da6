"""Who must approve a promotion, and whether a pull request's reviews do."""
