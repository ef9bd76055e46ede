"""edgepost's own licence-plate models: synthetic data, training, export and evaluation."""
