"""Models of the outcomes app: filled by the issue that builds it (see README, 'Roadmap')."""
