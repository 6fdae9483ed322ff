"""Domain exceptions of the API app."""


class ApiError(Exception):
    """Base of the API app's exceptions."""


class TokenRefused(ApiError):
    """A token may not be made (lifetime out of range, no role, second factor missing)."""
