"""Models of the randomization app: filled by the issue that builds it (see README, 'Roadmap')."""
