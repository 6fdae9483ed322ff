class ParticipantKeyConverter:
    """A study ID (01-0007) or, before enrollment, a screening number (S01-0003)."""

    regex = r"S?\d{2}-\d{4}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)
