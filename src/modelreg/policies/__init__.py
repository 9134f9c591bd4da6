"""Which policy governs a model, and the presets `modelreg init` copies."""
