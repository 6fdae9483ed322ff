"""Sign-in security: two-factor sign-in, rate limits, signed-in sessions, the password policy,
the sign-in, password, two-factor, sessions and security-log pages (decision 0019). Above the
kernel, below every domain app."""
