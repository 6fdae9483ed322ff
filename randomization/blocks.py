"""Permuted-block randomization lists: generation, validation, checksum. No Django import.

The algorithm (docs/randomization.md):
1. `rng = random.Random(seed)`: the recorded seed makes the list reproducible.
2. Until the list is long enough, draw a block size uniformly from the allowed sizes that still
   fit (a list of fixed length, phase I's 6, must end exactly; so there only 2 and 4 can be
   drawn), then put size/2 of each arm in the block and shuffle it with the same `rng`.
3. Each slot gets an envelope code from a keyed generator (HMAC-SHA256 with a server secret over
   phase, stratum, seed and sequence), so the same seed and key give the same codes, and nobody
   without the key can compute a code from the sequence number.

Every list, generated or imported, passes `validate` before it is stored; `checksum` is recorded
at creation and compared before each assignment (the verifier).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

CSV_HEADER = ("sequence", "block", "block_size", "arm", "envelope_code")


@dataclass(frozen=True)
class SlotRow:
    sequence: int
    block: int
    block_size: int
    arm: str
    envelope_code: str


def block_sizes_drawn(
    rng: random.Random, *, block_sizes: Sequence[int], length: int, exact: bool
) -> list[int]:
    """The sizes of the blocks of one list, in order."""
    sizes: list[int] = []
    total = 0
    while total < length:
        allowed = [s for s in block_sizes if total + s <= length] if exact else list(block_sizes)
        if not allowed:
            raise ValueError(f"no block size in {tuple(block_sizes)} ends a list of {length}")
        size = rng.choice(allowed)
        sizes.append(size)
        total += size
    return sizes


def generate(
    *,
    seed: int,
    length: int,
    exact: bool,
    block_sizes: Sequence[int],
    arms: Sequence[str],
    envelope_key: bytes,
    namespace: str,
    alphabet: str,
    code_length: int,
    taken_codes: Iterable[str] = (),
) -> list[SlotRow]:
    """A list of at least `length` slots (exactly `length` if `exact`), 1:1 within each block."""
    if len(arms) != 2:
        raise ValueError("permuted 1:1 blocks need exactly two arms")
    rng = random.Random(seed)  # noqa: S311 — reproducibility by seed is the point; not a secret
    rows: list[SlotRow] = []
    sequence = 0
    for block_number, size in enumerate(
        block_sizes_drawn(rng, block_sizes=block_sizes, length=length, exact=exact), start=1
    ):
        block = [arms[0]] * (size // 2) + [arms[1]] * (size // 2)
        rng.shuffle(block)
        for arm in block:
            sequence += 1
            rows.append(SlotRow(sequence, block_number, size, arm, ""))
    codes = envelope_codes(
        key=envelope_key,
        namespace=f"{namespace}|{seed}",
        count=len(rows),
        alphabet=alphabet,
        length=code_length,
        taken=set(taken_codes),
    )
    return [
        SlotRow(r.sequence, r.block, r.block_size, r.arm, code)
        for r, code in zip(rows, codes, strict=True)
    ]


def envelope_codes(
    *, key: bytes, namespace: str, count: int, alphabet: str, length: int, taken: set[str]
) -> list[str]:
    """`count` distinct codes, HMAC-derived; a code already used (or taken) is re-derived."""
    codes: list[str] = []
    used = set(taken)
    for sequence in range(1, count + 1):
        attempt = 0
        while True:
            message = f"{namespace}|{sequence}|{attempt}".encode()
            number = int.from_bytes(hmac.new(key, message, hashlib.sha256).digest(), "big")
            code = ""
            for _ in range(length):
                number, index = divmod(number, len(alphabet))
                code += alphabet[index]
            if code not in used:
                break
            attempt += 1
        used.add(code)
        codes.append(code)
    return codes


# -- validation, shared by generation and import -----------------------------------------------


@dataclass(frozen=True)
class ListRules:
    block_sizes: tuple[int, ...]
    arms: tuple[str, ...]
    alphabet: str
    code_length: int
    exact_length: int | None  # phase I: 6
    per_arm: int | None  # phase I: 3
    minimum_length: int  # phase II: the phase target (60)


def gettext_noop(message: str) -> str:
    """Marks a message for translation (makemessages) without importing Django here."""
    return message


@dataclass(frozen=True)
class ListError:
    """One reason a list is refused: a message template (English, translatable) and its values."""

    line: int | None  # CSV line (the header is line 1); None for the list as a whole
    template: str
    params: tuple[tuple[str, object], ...] = ()

    def render(self, translate: Callable[[str], str] = gettext_noop) -> str:
        message = translate(self.template) % dict(self.params)
        if self.line is None:
            return message
        return translate("line %(line)s: %(message)s") % {"line": self.line, "message": message}

    def __str__(self) -> str:
        return self.render()


def _error(line: int | None, template: str, **params: object) -> ListError:
    return ListError(line, template, tuple(params.items()))


_ = gettext_noop
gettext_noop("line %(line)s: %(message)s")


def parse_csv(text: str) -> tuple[list[SlotRow], list[ListError]]:
    """Rows of a CSV list, or errors naming the line. Nothing is guessed."""
    errors: list[ListError] = []
    rows: list[SlotRow] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != CSV_HEADER:
        return [], [
            _error(1, _("the header must be exactly %(header)s"), header=",".join(CSV_HEADER))
        ]
    blank_line = None
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            blank_line = blank_line or line
            continue
        if blank_line is not None:
            # Line numbers must stay those of the file: no silent gap inside the list.
            errors.append(_error(blank_line, _("an empty line inside the list")))
            blank_line = None
        if len(record) != len(CSV_HEADER):
            errors.append(
                _error(
                    line,
                    _("%(expected)s columns expected, %(found)s found"),
                    expected=len(CSV_HEADER),
                    found=len(record),
                )
            )
            continue
        sequence, block, block_size, arm, code = (cell.strip() for cell in record)
        numbers = {}
        for name, value in (("sequence", sequence), ("block", block), ("block_size", block_size)):
            try:
                numbers[name] = int(value)
            except ValueError:
                errors.append(
                    _error(
                        line,
                        _("%(column)s must be a whole number, not %(value)s"),
                        column=name,
                        value=repr(value),
                    )
                )
        if len(numbers) == 3:
            rows.append(
                SlotRow(numbers["sequence"], numbers["block"], numbers["block_size"], arm, code)
            )
    return rows, errors


def validate(rows: Sequence[SlotRow], rules: ListRules) -> list[ListError]:
    """Every reason the list may not be used; empty when it is a valid list.

    Line numbers assume row i is on CSV line i + 2 (header on line 1), which parse_csv ensures.
    """
    errors: list[ListError] = []
    if not rows:
        return [_error(None, _("the list has no slots"))]
    line = {id(r): i for i, r in enumerate(rows, start=2)}
    seen_codes: dict[str, int] = {}
    for expected, row in enumerate(rows, start=1):
        at = line[id(row)]
        if row.sequence != expected:
            errors.append(
                _error(
                    at,
                    _("sequence %(found)s found where %(expected)s expected"),
                    found=row.sequence,
                    expected=expected,
                )
            )
        if row.arm not in rules.arms:
            errors.append(
                _error(
                    at,
                    _("arm %(arm)s is not one of %(arms)s"),
                    arm=repr(row.arm),
                    arms=", ".join(rules.arms),
                )
            )
        if row.block_size not in rules.block_sizes:
            errors.append(
                _error(
                    at,
                    _("block size %(size)s is not one of %(sizes)s"),
                    size=row.block_size,
                    sizes=", ".join(map(str, rules.block_sizes)),
                )
            )
        code = row.envelope_code
        if len(code) != rules.code_length or any(c not in rules.alphabet for c in code):
            errors.append(
                _error(
                    at,
                    _("envelope code %(code)s must be %(length)s characters from %(alphabet)s"),
                    code=repr(code),
                    length=rules.code_length,
                    alphabet=rules.alphabet,
                )
            )
        elif code in seen_codes:
            errors.append(
                _error(
                    at,
                    _("envelope code %(code)s repeats line %(other)s"),
                    code=code,
                    other=seen_codes[code],
                )
            )
        else:
            seen_codes[code] = at
    errors += _validate_blocks(rows, line, rules)
    total = len(rows)
    if rules.exact_length is not None and total != rules.exact_length:
        errors.append(
            _error(
                None,
                _("the list must have exactly %(length)s slots, not %(total)s"),
                length=rules.exact_length,
                total=total,
            )
        )
    if rules.exact_length is None and total < rules.minimum_length:
        errors.append(
            _error(
                None,
                _("the list must have at least %(length)s slots, not %(total)s"),
                length=rules.minimum_length,
                total=total,
            )
        )
    if rules.per_arm is not None:
        counts = Counter(r.arm for r in rows)
        for arm in rules.arms:
            if counts[arm] != rules.per_arm:
                errors.append(
                    _error(
                        None,
                        _("%(expected)s slots of %(arm)s expected, %(found)s found"),
                        expected=rules.per_arm,
                        arm=arm,
                        found=counts[arm],
                    )
                )
    return errors


def _validate_blocks(
    rows: Sequence[SlotRow], line: dict[int, int], rules: ListRules
) -> list[ListError]:
    errors: list[ListError] = []
    members_of: dict[int, list[SlotRow]] = {}
    order: list[int] = []
    for row in rows:
        if row.block not in members_of:
            members_of[row.block] = []
            order.append(row.block)
        elif order[-1] != row.block:
            errors.append(
                _error(
                    line[id(row)], _("block %(block)s is split by another block"), block=row.block
                )
            )
        members_of[row.block].append(row)
    if order != list(range(1, len(order) + 1)):
        errors.append(_error(None, _("blocks must be numbered 1, 2, 3, … in order")))
    for number, members in members_of.items():
        first = line[id(members[0])]
        sizes = {m.block_size for m in members}
        if len(sizes) != 1:
            errors.append(
                _error(
                    first,
                    _("block %(block)s declares different sizes %(sizes)s"),
                    block=number,
                    sizes=sorted(sizes),
                )
            )
            continue
        size = sizes.pop()
        if len(members) != size:
            errors.append(
                _error(
                    first,
                    _("block %(block)s declares size %(size)s but has %(count)s slots"),
                    block=number,
                    size=size,
                    count=len(members),
                )
            )
            continue
        counts = Counter(m.arm for m in members)
        if any(counts[arm] * len(rules.arms) != size for arm in rules.arms):
            errors.append(
                _error(
                    first,
                    _("block %(block)s is not 1:1 (%(found)s)"),
                    block=number,
                    found=", ".join(f"{counts[a]} {a}" for a in rules.arms),
                )
            )
    return errors


# -- serialization and the verifier's checksum ---------------------------------------------------


def to_csv(rows: Iterable[SlotRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow([r.sequence, r.block, r.block_size, r.arm, r.envelope_code])
    return out.getvalue()


def checksum(rows: Iterable[SlotRow]) -> str:
    """SHA-256 of the list's canonical CSV: any change to any slot changes it."""
    return hashlib.sha256(to_csv(rows).encode()).hexdigest()


def slot_seal(*, checksum: str, number: str, row: SlotRow) -> str:
    """SHA-256 of the list's checksum, the slot's number and its canonical CSV line.

    Stored with each slot and checked for the slot an assignment takes: a slot edited behind
    the database's immutability trigger, or a list checksum edited, no longer matches its seal.
    The same text as the list's CSV line (to_csv), so both checks read the same fields."""
    line = f"{row.sequence},{row.block},{row.block_size},{row.arm},{row.envelope_code}"
    return hashlib.sha256(f"{checksum}|{number}|{line}".encode()).hexdigest()
