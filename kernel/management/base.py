"""The base of the project's management commands: bad input gets one line, never a traceback.

A command refuses a bad argument with `CommandError("--name VALUE: what is wrong")`, before it
writes anything; Django prints it as one line (`CommandError: …`, exit status 1) unless
--traceback is given. Argument-parsing errors (an unknown option, a missing one, a value of the
wrong type) are one line too: argparse would print its usage block first, and Django's own parser
would raise a CommandError from outside the command's error handling (a traceback). A database
that cannot be reached (a wrong DATABASE_URL, a server down) is one line as well.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError

# argparse's status for a usage error.
USAGE_ERROR = 2


class OneLineParser(CommandParser):
    def error(self, message):
        if self.called_from_command_line:
            self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see --help)\n")
        raise CommandError(f"Error: {message}", returncode=USAGE_ERROR)


class TrialCommand(BaseCommand):
    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Django makes the CommandParser itself, with no hook for its class.
        parser.__class__ = OneLineParser
        return parser

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except OperationalError as error:
            # The server's own words, first line: which host, which database, refused or not.
            first = next((line for line in str(error).splitlines() if line.strip()), "")
            raise CommandError(f"database error: {first.strip()}") from error
