"""Property-based tests of the SPF record parser, macro strings and evaluation over records from outside.

An SPF record is whatever a domain's owner published: any text reaches the parser, and a
record's macros decide names the kit then looks up. Properties, on generated input:

* the parser accepts every record the RFC 7208 grammar generates, and its terms written out
  again (each term's text, joined by single spaces) parse to the same terms;
* on any text at all it returns a record or raises :class:`SpfSyntaxError` (with a usable
  position and caret line), nothing else;
* macro strings tokenize, render and tokenize to the same tokens; any text tokenizes or
  raises :class:`MacroError`;
* expansion is bounded by its input (each value at most three times its UTF-8 length for
  URL escaping) and an expanded domain-spec is cut to 253 characters exactly as §7.3 says;
* evaluating any generated or garbled record gives one of the seven results, within the
  lookup limits, and never raises.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from mailsupport.dnslookup import ZoneLookup
from mailsupport.spf.engine import MAX_DNS_LOOKUPS, MAX_MX_NAMES, MAX_PTR_NAMES, RESULTS
from mailsupport.spf.evaluate import check_host
from mailsupport.spf.macros import MAX_DOMAIN, Macro, MacroError, expand, tokenize, truncate_domain
from mailsupport.spf.parse import Mechanism, Modifier, SpfSyntaxError, parse_record
from mailsupport.zones import ZoneData

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DELIMS = ".-+,/_="

# ------------------------------------------------------------------------------ grammar strategies
macro_st = st.builds(
    lambda letter, upper, digits, reverse, delims: (
        "%{"
        + (letter.upper() if upper else letter)
        + (str(digits) if digits else "")
        + ("r" if reverse else "")
        + delims
        + "}"
    ),
    st.sampled_from("slodiphv"),
    st.booleans(),
    st.integers(0, 12),
    st.booleans(),
    st.text(st.sampled_from(DELIMS), max_size=3),
)
literal_st = st.text(st.sampled_from(ALNUM + "-_"), min_size=1, max_size=12)
escape_st = st.sampled_from(["%%", "%_", "%-"])
toplabel_st = st.from_regex(r"[a-z0-9]{0,4}[a-z][a-z0-9]{0,4}|[a-z0-9]{1,3}-[a-z0-9-]{0,3}[a-z0-9]", fullmatch=True)


@st.composite
def domain_spec_st(draw) -> str:
    """A domain-spec (§7.1): a macro-string ending in ``.toplabel[.]`` or in a ``%{...}`` macro."""
    pieces = draw(st.lists(st.one_of(literal_st, macro_st, escape_st, st.just(".")), max_size=6))
    if draw(st.booleans()):
        return "".join(pieces) + draw(macro_st)
    head = "".join(pieces) or draw(literal_st)
    return head + "." + draw(toplabel_st) + draw(st.sampled_from(["", "."]))


cidr4 = st.integers(0, 32).map(lambda n: f"/{n}")
cidr6 = st.integers(0, 128).map(lambda n: f"//{n}")
ip4_st = st.ip_addresses(v=4).map(str)
ip6_st = st.ip_addresses(v=6).map(str)


@st.composite
def mechanism_st(draw) -> str:
    """One directive: optional qualifier, then any mechanism with valid arguments."""
    qualifier = draw(st.sampled_from(["", "+", "-", "~", "?"]))
    name = draw(st.sampled_from(["all", "include", "exists", "a", "mx", "ptr", "ip4", "ip6"]))
    shown = name.upper() if draw(st.booleans()) else name
    if name == "all":
        rest = ""
    elif name in ("include", "exists"):
        rest = ":" + draw(domain_spec_st())
    elif name == "ptr":
        rest = draw(st.one_of(st.just(""), domain_spec_st().map(lambda d: ":" + d)))
    elif name in ("a", "mx"):
        spec = draw(st.one_of(st.just(""), domain_spec_st().map(lambda d: ":" + d)))
        rest = spec + draw(st.one_of(st.just(""), cidr4)) + draw(st.one_of(st.just(""), cidr6))
    elif name == "ip4":
        rest = ":" + draw(ip4_st) + draw(st.one_of(st.just(""), cidr4))
    else:
        rest = ":" + draw(ip6_st) + draw(st.one_of(st.just(""), st.integers(0, 128).map(lambda n: f"/{n}")))
    return qualifier + shown + rest


unknown_modifier_st = st.builds(
    lambda name, value: f"{name}={value}",
    st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,8}", fullmatch=True).filter(
        lambda n: n.lower() not in ("redirect", "exp")
    ),
    st.lists(st.one_of(literal_st, macro_st, escape_st, st.sampled_from(["/", ":", "."])), max_size=4).map("".join),
)


@st.composite
def record_st(draw) -> str:
    """A record the grammar generates: ``v=spf1``, terms separated by one or more spaces, redirect/exp at most once."""
    terms = draw(st.lists(st.one_of(mechanism_st(), unknown_modifier_st), max_size=8))
    for name in ("redirect", "exp"):
        if draw(st.booleans()):
            terms.insert(draw(st.integers(0, len(terms))), f"{name}={draw(domain_spec_st())}")
    version = draw(st.sampled_from(["v=spf1", "V=SPF1", "v=Spf1"]))
    return version + "".join(" " * draw(st.integers(1, 3)) + t for t in terms) + " " * draw(st.integers(0, 2))


def _shape(term: Mechanism | Modifier) -> tuple:
    """A term without where it was written (text and position)."""
    if isinstance(term, Mechanism):
        return (
            "mechanism",
            term.qualifier,
            term.name,
            term.domain_spec,
            term.macro,
            term.ip4_cidr,
            term.ip6_cidr,
            term.network,
        )
    return ("modifier", term.name, term.value, term.macro)


# ------------------------------------------------------------------------------ parser
@given(record_st())
@example("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all")
@example("v=spf1 a:foo:bar/baz.example.com/24//64 redirect=%{d}")
def test_every_record_of_the_grammar_parses_and_its_terms_round_trip(record):
    """A grammatical record parses; its terms written out again parse to the same terms."""
    parsed = parse_record(record)
    again = parse_record("v=spf1 " + " ".join(t.text for t in parsed.terms))
    assert [_shape(t) for t in again.terms] == [_shape(t) for t in parsed.terms]
    assert [t.text for t in again.terms] == record[6:].split()


garbage_st = st.one_of(
    st.text(max_size=200),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=200).map(lambda t: "v=spf1 " + t),
    st.lists(
        st.one_of(
            mechanism_st(),
            unknown_modifier_st,
            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=15),
        ),
        max_size=8,
    ).map(lambda terms: "v=spf1 " + " ".join(terms)),
)


@given(garbage_st)
@example("v=spf1 redirect=a.example redirect=b.example")
@example("v=spf1 a:%{")
@example("v=spf1 ip6:::1/129\x00é")
def test_any_text_parses_or_raises_a_syntax_error_with_a_usable_position(text):
    """Any text gives a record or an SpfSyntaxError whose position lies in the text and whose caret line draws."""
    try:
        parse_record(text)
    except SpfSyntaxError as exc:
        assert 0 <= exc.position <= len(text)
        shown, caret = exc.marked().split("\n", 1)
        assert caret.index("^") <= len(shown)
        assert exc.reason in str(exc)


# ------------------------------------------------------------------------------ macro strings
def render(tokens: tuple) -> str:
    """Macro-string text for tokens: literals with ``%`` doubled and spaces as ``%_``, macros in full."""
    out = []
    for t in tokens:
        if isinstance(t, Macro):
            letter = t.letter.upper() if t.url_escape else t.letter
            out.append(
                "%{" + letter + (str(t.digits) if t.digits else "") + ("r" if t.reverse else "") + t.delimiters + "}"
            )
        else:
            out.append(t.replace("%", "%%").replace(" ", "%_"))
    return "".join(out)


macro_string_st = st.lists(
    st.one_of(literal_st, macro_st, escape_st, st.sampled_from([".", "/", ":", "="])), max_size=10
).map("".join)


@given(macro_string_st, st.booleans())
def test_macro_strings_tokenize_render_and_tokenize_the_same(text, explanation):
    """Tokens of a valid macro-string, rendered back, tokenize to the same tokens."""
    tokens = tokenize(text, explanation=explanation)
    assert tokenize(render(tokens), explanation=explanation) == tokens


@given(st.text(max_size=80), st.booleans())
@example("%{x}", False)
@example("%{c}", False)
@example("%{d0}", False)
@example("%{d", False)
@example("% ", True)
def test_any_text_tokenizes_or_raises_a_macro_error_inside_it(text, explanation):
    """Any text gives tokens or a MacroError whose position lies in the text."""
    try:
        tokenize(text, explanation=explanation)
    except MacroError as exc:
        assert 0 <= exc.position <= len(text)


values_st = st.fixed_dictionaries({letter: st.text(max_size=300) for letter in "slodiphvcrt"})


@given(st.lists(st.one_of(literal_st, macro_st, escape_st), max_size=20).map("".join), values_st)
def test_expansion_is_bounded_by_its_input(text, values):
    """An expansion is at most the literals plus three times each expanded value's UTF-8 length."""
    tokens = tokenize(text)
    out = expand(tokens, values)
    most = sum(len(t) if isinstance(t, str) else 3 * len(values[t.letter].encode()) for t in tokens)
    assert len(out) <= most


def slow_truncate(name: str) -> str:
    """§7.3 word for word: drop the trailing dot, then remove labels from the left while over 253."""
    if name.endswith("."):
        name = name[:-1]
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name


labelled_st = st.lists(st.text(st.sampled_from("ab9-."), max_size=70), max_size=40).map(".".join)


@given(st.one_of(labelled_st, st.text(max_size=600)))
@example("a." * 200)
@example("x" * 300)
@example("x" * 300 + ".example")
@example("." * 600)
def test_an_expanded_domain_is_cut_as_the_rfc_says(name):
    """truncate_domain equals the label-by-label rule, and fits in 253 characters unless one label alone is longer."""
    cut = truncate_domain(name)
    assert cut == slow_truncate(name)
    assert len(cut) <= MAX_DOMAIN or "." not in cut


# ------------------------------------------------------------------------------ evaluation
class CountingLookup:
    """The zone answers, counted: how many DNS questions one evaluation asked."""

    def __init__(self, inner: ZoneLookup) -> None:
        self.inner, self.questions = inner, 0

    def query(self, name: str, rdtype: str):
        self.questions += 1
        return self.inner.query(name, rdtype)


#: The most questions one check_host() may ask (§4.6.4): the record, 10 querying terms each with up to
#: 10 MX or PTR names to resolve, one %{p} validation, the exp= target.
MAX_QUESTIONS = 1 + MAX_DNS_LOOKUPS * (1 + MAX_MX_NAMES) + (1 + MAX_PTR_NAMES) + 2


@given(
    st.one_of(record_st(), garbage_st),
    st.sampled_from(["192.0.2.7", "2001:db8::7"]),
    st.text(st.sampled_from(ALNUM + ".-+"), min_size=1, max_size=40),
)
@example("V=SPF1 INCLUDE:%{O}", "192.0.2.7", "0")  # includes itself: stopped at the 11th querying term
def test_evaluating_any_published_record_gives_a_result_within_the_limits(record, ip, local):
    """check_host over any record (valid, garbled, macro-laden, self-including) returns one of the seven
    results, never raises, and asks a bounded number of DNS questions."""
    zone = ZoneData.from_mapping(
        {
            "t.example": [{"TXT": record}, {"MX": [10, "mx.t.example"]}],
            "mx.t.example": [{"A": "192.0.2.7"}, {"AAAA": "2001:db8::7"}],
            "inc.t.example": [{"TXT": "v=spf1 include:t.example ?all"}],
        }
    )
    lookup = CountingLookup(ZoneLookup(zone))
    result = check_host(ip, "t.example", lookup=lookup, sender=f"{local}@t.example", helo="mx.t.example")
    assert result.result in RESULTS
    assert lookup.questions <= MAX_QUESTIONS
    # dns_lookups counts the querying terms reached, the one that went over the limit included
    assert result.dns_lookups <= MAX_DNS_LOOKUPS or (result.result == "permerror" and result.limit_exceeded)
