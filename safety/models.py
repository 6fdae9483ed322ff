"""Models of the safety app: filled by the issue that builds it (see README, 'Roadmap')."""
