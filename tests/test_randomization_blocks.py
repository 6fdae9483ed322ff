"""The list generator and validator (randomization/blocks.py), over many seeds (hypothesis)."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.trial import TRIAL
from randomization import blocks

ARMS = [a.code for a in TRIAL.arms]
KEY = b"test-key"


def make(seed, *, length=6, exact=True, key=KEY, namespace="IRCT|I|A"):
    return blocks.generate(
        seed=seed,
        length=length,
        exact=exact,
        block_sizes=TRIAL.block_sizes,
        arms=ARMS,
        envelope_key=key,
        namespace=namespace,
        alphabet=TRIAL.envelope_alphabet,
        code_length=TRIAL.envelope_length,
    )


def rules(phase):
    from randomization.services import list_rules

    return list_rules(phase)


seeds = st.integers(min_value=0, max_value=2**63)


@settings(max_examples=300)
@given(seeds)
def test_phase_one_lists_are_six_slots_three_of_each_arm_in_balanced_blocks(seed):
    rows = make(seed)
    assert len(rows) == 6
    assert Counter(r.arm for r in rows) == {ARMS[0]: 3, ARMS[1]: 3}
    assert blocks.validate(rows, rules("I")) == []


@settings(max_examples=200)
@given(seeds)
def test_phase_two_lists_reach_sixty_in_blocks_of_two_four_or_eight_each_one_to_one(seed):
    rows = make(seed, length=60, exact=False)
    assert 60 <= len(rows) < 60 + max(TRIAL.block_sizes)
    by_block = {}
    for r in rows:
        by_block.setdefault(r.block, []).append(r)
    for members in by_block.values():
        assert members[0].block_size in (2, 4, 8)
        assert len(members) == members[0].block_size
        counts = Counter(m.arm for m in members)
        assert counts[ARMS[0]] == counts[ARMS[1]]
    assert [r.sequence for r in rows] == list(range(1, len(rows) + 1))
    assert blocks.validate(rows, rules("II")) == []


@settings(max_examples=100)
@given(seeds)
def test_the_same_seed_gives_the_same_list_and_codes(seed):
    assert make(seed, length=60, exact=False) == make(seed, length=60, exact=False)


@settings(max_examples=100)
@given(seeds)
def test_envelope_codes_are_unique_six_unambiguous_characters(seed):
    rows = make(seed, length=60, exact=False)
    codes = [r.envelope_code for r in rows]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert len(code) == 6
        assert set(code) <= set(TRIAL.envelope_alphabet)
        assert not set(code) & set("0O1IL2Z5S6G8B")


def test_envelope_codes_cannot_be_computed_without_the_key():
    # Same seed and sequence, another key: other codes; the arms stay (they depend on the seed).
    mine, theirs = make(11, length=60, exact=False), make(11, length=60, exact=False, key=b"x")
    assert [r.arm for r in mine] == [r.arm for r in theirs]
    assert not {r.envelope_code for r in mine} & {r.envelope_code for r in theirs}


def test_taken_codes_are_never_reused():
    first = make(5)
    again = blocks.generate(
        seed=5,
        length=6,
        exact=True,
        block_sizes=TRIAL.block_sizes,
        arms=ARMS,
        envelope_key=KEY,
        namespace="IRCT|I|A",
        alphabet=TRIAL.envelope_alphabet,
        code_length=6,
        taken_codes={first[0].envelope_code},
    )
    assert again[0].envelope_code != first[0].envelope_code
    assert [r.arm for r in again] == [r.arm for r in first]


def test_block_sizes_are_drawn_evenly_chi_square():
    # 3,000 phase II lists: each size 2, 4, 8 should come up a third of the time. The χ² test
    # with 2 degrees of freedom: 13.8 is the 0.1 % critical value.
    counts = Counter()
    for seed in range(3000):
        counts.update(r.block_size for r in make(seed, length=60, exact=False) if r.sequence == 1)
    # one draw per list (the first block) keeps the draws independent
    expected = 3000 / 3
    chi2 = sum((counts[s] - expected) ** 2 / expected for s in (2, 4, 8))
    assert chi2 < 13.8, counts


def test_arms_are_drawn_evenly_at_each_position():
    first_arm = Counter(make(seed, length=60, exact=False)[0].arm for seed in range(2000))
    expected = 1000
    chi2 = sum((first_arm[a] - expected) ** 2 / expected for a in ARMS)
    assert chi2 < 10.8, first_arm  # 1 degree of freedom, 0.1 %


# -- validation of imported lists -----------------------------------------------------------------


def csv_of(lines):
    return "sequence,block,block_size,arm,envelope_code\n" + "\n".join(lines) + "\n"


GOOD = [
    "1,1,2,exosome,ACDEFH",
    "2,1,2,placebo,ACDEFJ",
    "3,2,4,placebo,ACDEFK",
    "4,2,4,exosome,ACDEFM",
    "5,2,4,exosome,ACDEFN",
    "6,2,4,placebo,ACDEFP",
]


def test_a_good_phase_one_csv_passes():
    rows, errors = blocks.parse_csv(csv_of(GOOD))
    assert errors == []
    assert blocks.validate(rows, rules("I")) == []


def test_a_wrong_header_is_refused_on_line_one():
    rows, errors = blocks.parse_csv("seq,block,size,arm,code\n1,1,2,exosome,ACDEFH\n")
    assert [str(e) for e in errors] == [
        "line 1: the header must be exactly sequence,block,block_size,arm,envelope_code"
    ]


def test_errors_name_the_line():
    lines = list(GOOD)
    lines[1] = "2,1,2,exosome,ACDEFJ"  # block 1 now 2:0
    lines[2] = "3,2,4,placebo,ACDEF0"  # ambiguous character
    lines[4] = "5,2,4,exosome,ACDEFM"  # repeats line 5's code
    rows, errors = blocks.parse_csv(csv_of(lines))
    messages = [str(e) for e in blocks.validate(rows, rules("I"))]
    assert "line 2: block 1 is not 1:1 (2 exosome, 0 placebo)" in messages
    assert any(
        m.startswith("line 4: envelope code 'ACDEF0' must be 6 characters") for m in messages
    )
    assert "line 6: envelope code ACDEFM repeats line 5" in messages
    assert "4 slots of exosome expected, 4 found" not in messages
    assert "3 slots of exosome expected, 4 found" in messages


def test_block_size_eight_and_wrong_totals_are_refused_in_phase_one():
    lines = [
        f"{i},1,8,{'exosome' if i % 2 else 'placebo'},AAAAA{'ACDEFHJK'[i - 1]}" for i in range(1, 9)
    ]
    rows, errors = blocks.parse_csv(csv_of(lines))
    assert errors == []
    messages = [str(e) for e in blocks.validate(rows, rules("I"))]
    assert "the list must have exactly 6 slots, not 8" in messages


def test_a_size_outside_the_allowed_sizes_and_non_numbers_are_refused():
    rows, errors = blocks.parse_csv(csv_of(["1,1,6,exosome,ACDEFH", "x,1,6,placebo,ACDEFJ"]))
    assert [str(e) for e in errors] == ["line 3: sequence must be a whole number, not 'x'"]
    messages = [str(e) for e in blocks.validate(rows, rules("I"))]
    assert "line 2: block size 6 is not one of 2, 4, 8" in messages


def test_the_checksum_changes_with_any_slot():
    rows = make(3)
    assert blocks.checksum(rows) == blocks.checksum(make(3))
    other = {ARMS[0]: ARMS[1], ARMS[1]: ARMS[0]}
    for index, row in enumerate(rows):
        flipped = list(rows)
        flipped[index] = blocks.SlotRow(
            row.sequence, row.block, row.block_size, other[row.arm], row.envelope_code
        )
        assert blocks.checksum(flipped) != blocks.checksum(rows)


def test_an_empty_line_inside_the_list_is_named_not_skipped():
    lines = [*GOOD[:2], "", *GOOD[2:]]
    rows, errors = blocks.parse_csv(csv_of(lines))
    assert [str(e) for e in errors] == ["line 4: an empty line inside the list"]


def test_errors_render_in_the_users_language_through_a_translate_function():
    persian = {
        "line %(line)s: %(message)s": "خط %(line)s: %(message)s",
        "block %(block)s is not 1:1 (%(found)s)": "بلوک %(block)s ۱:۱ نیست (%(found)s)",
    }
    error = blocks.ListError(
        3, "block %(block)s is not 1:1 (%(found)s)", (("block", 2), ("found", "x"))
    )
    assert error.render(persian.get) == "خط 3: بلوک 2 ۱:۱ نیست (x)"
    assert str(error) == "line 3: block 2 is not 1:1 (x)"
