"""Tests of `parse`: strict and lenient modes, errors, canonical form, cache."""

from __future__ import annotations

import string
import time

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from eventmask import MAX_MASK_LENGTH, Catalogue, Mask, MaskError, MaskSyntaxError, parse
from eventmask._language.grammar import PHRASES
from eventmask._language.parser import parse_uncached

from ..conftest import load_cases
from ..strategies import RATE_PLANS, grammar_strings, mask_texts

CASES = load_cases("mask_cases.json")


@pytest.mark.parametrize(("text", "canonical"), CASES["valid"])
def test_valid_masks_parse_to_their_canonical_form(text: str, canonical: str) -> None:
    """Documented and real-world masks parse, in both modes, to the expected canonical text."""
    assert str(parse(text)) == canonical
    assert str(parse(text, lenient=True)) == canonical
    assert parse(canonical) == parse(text)


@pytest.mark.parametrize(("text", "code", "position", "message"), CASES["errors"])
def test_always_errors_in_both_modes(text: str, code: str, position: int, message: str) -> None:
    """The always-error cases fail strictly and leniently with the same code, position and text."""
    for lenient in (False, True):
        with pytest.raises(MaskSyntaxError) as info:
            parse(text, lenient=lenient)
        err = info.value
        assert (err.code, err.position, err.message) == (code, position, message)
        assert err.text == text


@pytest.mark.parametrize(("text", "code", "position", "message", "repaired"), CASES["repairs"])
def test_repairable_cases(text: str, code: str, position: int, message: str, repaired: str) -> None:
    """Each row of docs/language.md, "Strict and lenient", is a strict error and a lenient
    repair kept as a warning."""
    with pytest.raises(MaskSyntaxError) as info:
        parse(text)
    assert (info.value.code, info.value.position, info.value.message) == (code, position, message)
    mask = parse(text, lenient=True)
    assert str(mask) == repaired
    assert [(w.code, w.severity, w.start, w.message) for w in mask.warnings] == [
        (code, "warning", position, message)
    ]


def test_error_str_shows_caret_under_position() -> None:
    """str(err) is the message, then the mask, then a caret under the position."""
    with pytest.raises(MaskSyntaxError) as info:
        parse("booking;;message")
    assert str(info.value) == (
        "expected an event name after ';' (at position 8)\n  booking;;message\n          ^"
    )


def test_caret_stays_aligned_for_control_characters() -> None:
    """A tab before the error is shown escaped, and the caret moves with it."""
    err = MaskSyntaxError("unexpected character '!'", "\tbooking!", 8)
    lines = str(err).splitlines()
    assert lines[1] == "  \\tbooking!"
    assert lines[2].index("^") == lines[1].index("!")


def test_error_is_a_value_error_and_a_mask_error() -> None:
    """MaskSyntaxError sits under both the library root and ValueError."""
    with pytest.raises(ValueError, match="empty mask"):
        parse("")
    assert issubclass(MaskSyntaxError, MaskError)


def test_too_long_mask_is_refused_before_parsing() -> None:
    """Over 65,536 characters is an error at the limit, without running the grammar."""
    text = "booking;" * (MAX_MASK_LENGTH // 8) + "message"
    started = time.perf_counter()
    with pytest.raises(MaskSyntaxError) as info:
        parse(text)
    assert info.value.position == MAX_MASK_LENGTH
    assert info.value.message == f"mask is {len(text):,} characters long; the limit is 65,536"
    assert time.perf_counter() - started < 1.0
    assert len(str(info.value).splitlines()[1]) < 140  # the caret line is windowed


def test_mask_at_the_limit_parses() -> None:
    """Exactly 65,536 characters is still accepted."""
    text = ("booking;" * (MAX_MASK_LENGTH // 8))[:-1] + ";"
    text = text[:-1] + "x" * (MAX_MASK_LENGTH - len(text) + 1)
    assert len(text) == MAX_MASK_LENGTH
    with pytest.raises(MaskSyntaxError) as info:  # the last item is an unknown event
        parse(text)
    assert info.value.code == "EM002"


def test_non_string_is_a_type_error() -> None:
    """A mask must be text; anything else is a TypeError, not a crash later."""
    with pytest.raises(TypeError, match="a mask is a str, not int"):
        parse(5)  # type: ignore[arg-type]


def test_unknown_event_with_a_user_catalogue() -> None:
    """A catalogue extended at run time accepts new names in both parse and lint."""
    catalogue = Catalogue.default().with_events("new_thing").with_restrictions("price")
    assert str(parse("new_thing;ari:price:*:*", catalogue=catalogue)) == "ari:price:*:*;new_thing"
    with pytest.raises(MaskSyntaxError):
        parse("new_thing")


def test_alias_renders_under_current_name() -> None:
    """The deprecated spelling equals the current one and warns EM103."""
    mask = parse("disconnected_channel")
    assert mask == parse("disconnect_channel")
    assert [w.code for w in mask.warnings] == ["EM103"]


def test_legacy_restriction_is_accepted_with_a_warning() -> None:
    """max_sell parses strictly, with EM104 kept in warnings."""
    assert [w.code for w in parse("ari:max_sell:*:*").warnings] == ["EM104"]


def test_parse_cache_returns_the_same_object() -> None:
    """A repeated parse of the same text is served from the cache."""
    text = "booking;ari:rate:*:" + RATE_PLANS[0]
    assert parse(text) is parse(text)
    assert parse(text, lenient=True) is parse(text, lenient=True)
    assert parse(text) is not parse(text, lenient=True)


def test_parse_cache_is_bounded() -> None:
    """Many distinct masks never grow the cache past its bound."""
    from eventmask._language import parser as _parser

    for i in range(_parser._CACHE_SIZE + 50):
        parse(f"ari:rate:*:{i:08x}-0000-4000-8000-000000000000")
    assert len(_parser._strict) <= _parser._CACHE_SIZE


# -- properties ------------------------------------------------------------------


def _outcome(text: str, lenient: bool) -> Mask | MaskSyntaxError:
    """The mask, or the library's own error; any other exception propagates."""
    try:
        return parse_uncached(text, lenient, Catalogue.default())
    except MaskSyntaxError as err:
        return err


@given(mask_texts())
def test_generated_masks_parse_to_the_same_mask(pair: tuple[Mask, str]) -> None:
    """Any valid spelling of a mask parses to that mask; str is idempotent."""
    mask, text = pair
    parsed = parse(text)
    assert parsed == mask
    assert str(parsed) == str(mask)
    assert parse(str(parsed)) == parsed
    assert str(parse(str(parsed))) == str(parsed)


@given(mask_texts())
def test_strictly_valid_masks_parse_identically_leniently(pair: tuple[Mask, str]) -> None:
    """Lenient mode changes nothing for a strictly valid mask."""
    _, text = pair
    strict, lenient = parse(text), parse(text, lenient=True)
    assert strict == lenient
    assert strict.warnings == lenient.warnings


@given(grammar_strings())
def test_grammar_strings_never_fail_in_the_grammar(text: str) -> None:
    """Every string the grammar generates gets past the grammar: findings are only semantic."""
    semantic = (
        "filter segments are allowed only after",
        "an ari filter has at most four segments",
        "cannot stand beside other values",
        "found a UUID",
        "malformed UUID",
    )
    outcome = _outcome(text, lenient=True)
    if isinstance(outcome, MaskSyntaxError):
        assert outcome.code == "EM001"
        assert any(phrase in outcome.message for phrase in semantic), outcome.message


_ALPHABET = string.ascii_letters + string.digits + ";:,*-_ \t\n!<>é" + "0123456789abcdef" * 2


@given(st.text(alphabet=_ALPHABET, max_size=120) | st.text(max_size=60))
@example("ari:" + ",".join(["rate"] * 2000))
@example(";" * 5000)
@example("a" * 70_000)
def test_parse_is_total(text: str) -> None:
    """Arbitrary text yields a Mask or a MaskSyntaxError inside the text, nothing else."""
    for lenient in (False, True):
        result = _outcome(text, lenient)
        if isinstance(result, MaskSyntaxError):
            assert 0 <= result.position <= len(text)
            assert result.code.startswith("EM0")
            for name in PHRASES:
                if name != "$END":
                    assert name not in result.message
            assert "$END" not in result.message
        else:
            assert isinstance(result, Mask)
            assert parse(str(result), lenient=lenient) == result


def test_long_pathological_masks_do_not_hang() -> None:
    """The largest masks within the limit parse in well under a second each."""
    uuids = ",".join(f"{i:08x}-0000-4000-8000-000000000000" for i in range(1700))
    many_filters = ";".join(f"ari:rate:*:{i:08x}-0000-4000-8000-000000000000" for i in range(1200))
    many_items = "booking;" * 8000 + "x" + ";ari:rate" * 100
    for text in (f"ari:rate:{uuids}:*", many_filters, many_items, "a" * 65_536):
        assert len(text) <= MAX_MASK_LENGTH
        started = time.perf_counter()
        _outcome(text, lenient=True)
        assert time.perf_counter() - started < 5.0
