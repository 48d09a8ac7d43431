"""The programme overview: the roof over the core (`vielfalt`) and the feature apps (partnerships, trainings,
surveys). The dashboard, the programme and partner reports, their tasks, the programme data version's signal
receivers and `seed_scale` live here because they read from every app; nothing else may (see the import
contracts in pyproject.toml). An app with its own label and no models."""
