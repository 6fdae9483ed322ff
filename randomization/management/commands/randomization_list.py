"""Print, store or import a randomization list (the statistician's and external checks' contract).

python manage.py randomization_list --phase I|II --stratum A|B --seed N
    prints the list as CSV (sequence,block,block_size,arm,envelope_code); writes nothing
... --seed N --save --user USERNAME
    stores it (refused if the list of that phase and stratum already holds assignments)
python manage.py randomization_list --phase I --stratum A --import FILE --user USERNAME
    validates and stores an externally generated list; errors name the line
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from randomization import blocks, services
from randomization.exceptions import RandomizationError
from trialedc.trial import TRIAL


class Command(BaseCommand):
    help = "Print (default), --save or --import the randomization list of one phase and stratum."

    def add_arguments(self, parser):
        parser.add_argument("--phase", required=True, choices=[p.code for p in TRIAL.phases])
        parser.add_argument("--stratum", required=True, choices=[s.code for s in TRIAL.strata])
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--seed", type=int, help="the recorded integer seed")
        source.add_argument("--import", dest="import_path", help="CSV file to validate and store")
        parser.add_argument("--save", action="store_true", help="store the generated list")
        parser.add_argument("--user", help="username of the statistician storing the list")

    def handle(self, *args, phase, stratum, seed, import_path, save, user, **options):
        if import_path is None and not save:
            rows = services.list_generate_rows(phase=phase, stratum=stratum, seed=seed)
            self.stdout.write(blocks.to_csv(rows), ending="")
            return
        statistician = self._statistician(user)
        try:
            if import_path is not None:
                text = Path(import_path).read_text(encoding="utf-8-sig")
                rlist = services.list_import(
                    phase=phase, stratum=stratum, csv_text=text, user=statistician
                )
            else:
                rlist = services.list_generate(
                    phase=phase, stratum=stratum, seed=seed, user=statistician
                )
        except RandomizationError as error:
            details = "".join(f"\n  {e}" for e in getattr(error, "errors", []))
            raise CommandError(f"{error}{details}") from error
        self.stderr.write(
            f"Stored phase {phase}, stratum {stratum}: {rlist.slots.count()} slots, "
            f"checksum {rlist.checksum}"
        )

    def _statistician(self, username):
        if not username:
            raise CommandError("--user is required to store a list (who made it is recorded)")
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None or not user.has_perm("randomization.add_randomizationlist"):
            raise CommandError(f"{username!r} is not an active user allowed to store lists")
        return user
