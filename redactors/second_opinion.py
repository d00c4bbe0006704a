"""A second opinion on the small model's labels, from the gazetteers and the model itself.

en_core_web_sm often calls a foreign name an ORG, or nothing at all, and misses places it has
not seen. For capitalised spans it did not call PERSON, the gazetteers (``redactors.gazetteer``)
propose, and context and the model decide:

- **names the model called ORG, or nothing**: one to three capitalised words, the first a known
  first name or the last a known last name, none of them a common or company word ("Inc",
  "Bank", "and"). The gazetteers are noisy (names-dataset has "The" and "Street" as first names),
  so membership alone never decides: the span is kept when none of its words is in the model's
  own shipped vocabulary (English words and common English names are; "Concetta Bruscantini" is
  not), or, for two or three words with a known first and a known last name, when the model
  asked about the span alone in a neutral sentence ("I spoke with … yesterday.") says PERSON.
- **names in lower case**: a known first name then a known last name ("kavya smith"), none a
  common word and one unknown to the model's vocabulary, or both no English dictionary word
  (``redactors.englishwords``: "flavio ellis"; "mark grant" is English), confirmed by the model
  asked about the title-cased pair in a neutral sentence (PERSON, or ORG when the first is a
  common first name);
- **enumerations of first names**: "Ana, Luis and Marta", "Riley, Selim": three or more
  capitalised words, or two joined by "and", most of them known first names, unless the list
  reads as a firm ("at Lee, Perkins and Finch", "The Smith, Francis and Bell Orchestra");
- **places after a place cue**: "in Växjö", "from Kitee to Ahaus", "country is Cameroon", when
  the gazetteer knows the place (a town of 500 or more only when the model never saw its words:
  "written in Rust" stays), or the phrase is shaped like a place name (a town ending in English,
  French, German, Dutch or Nordic: "Taylorfort", "MorelBourg", "Sellingen"; a particle inside:
  "Plan-les-Ouates", "Bělá pod Bezdězem"; a saint or a direction before a name: "Sint-Lievens-Esse",
  "South Kevin"), in capitals too ("FLYING TO PARIS"); after "from <place> to", a word the model
  never saw that it reads as a place in "She lives in …."; Faker-style and real towns alike;
- **after weaker cues** ("for", "left", "between", "toured", "arriving" ...), **before a site**
  ("the Craggmouth office", "The Mariager warehouse") and **in a list** after a place: a country, a
  known place or town with a word the model never saw, or a place shape; **in lower case**
  after any cue: a known place no word of which is English, a place shape, or a known place of
  several words that the model confirms title-cased ("restaurants in san marino");
- **places without a cue**: place fields ("delivery_city: …", "State/Province: …", "city=Zdice
  status=ok"; "location:", "office:" and values in capitals only for a known or place-shaped
  one); countries, US states, Canadian and Australian provinces and states wherever they are
  capitalised or in capitals ("Bosnia and Herzegovina", "GERMANY"); known places of 5,000 people
  or more none of whose words the model ever saw ("Our Kisumu team", "BHIWADI", and in English
  text "bhiwadi"), or of two words or more with no common word and not a person's two names
  ("Deception Bay"); a town before its country ("Moirano, Italy"). A place before a company
  word or inside a firm's list of names ("at Tapia Group", "at Adams, Holland and Wallis") is not one;
- **the floor under naive Presidio**: naive Presidio masks every span the model labels ORG or
  NORP. A span the model labelled ORG, NORP or WORK_OF_ART is re-read here: a known place that
  is no English word ("Świecie", "Niue"), or any known place after a place cue, is a LOCATION; one to
  four capitalised words with a known first name first or a known last name last, none a company
  word and not introduced as a firm ("at", "for", "join"), are a PERSON ("Julia Kalamees",
  "Riley will send the deck"). Real firms keep their company words ("Myers PLC", "Alexander
  Inc") and products their context, so they stay.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence

from presidio_analyzer import RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from redactors import regexcache
from redactors.cues import first_letters
from redactors.englishwords import EnglishWords
from redactors.gazetteer import Gazetteer
from redactors.letters import LOWER, UPPER
from redactors.namecues import NAMED_PRODUCTS, NameCues, after_colon
from redactors.nerdedup import Probes

_CAP = rf"[{UPPER}](?:['’][{UPPER}])?[{LOWER}'’]+(?:-[{UPPER}][{LOWER}'’]+)?"  # "O'Brien" too
# One to three capitalised words (single words only count when the model has never seen them).
_CANDIDATE = regexcache.compile(rf"(?<![\w-]){_CAP}(?:[ ]{_CAP}){{0,2}}(?![\w-])")
# Items of one or two words: "Thierry, Thiago Lionel and René"; "Smith, Francis and Bell Orchestra".
_ITEM = rf"{_CAP}(?:[ ]{_CAP})?"
_ENUMERATION = regexcache.compile(rf"(?<![\w-]){_ITEM}(?:,[ ]{_ITEM})*,?[ ](?:and|&|or)[ ]{_ITEM}(?![\w-])|(?<![\w-]){_ITEM}(?:,[ ]{_ITEM}){{2,}}(?![\w-])")
# A firm's partners: "Richardson, White and Edwards", "Hill, Rose & Sheppard".
_PARTNER = rf"(?:Ma?c)?{_CAP}"
_PARTNERS = regexcache.compile(rf"(?:(?<![\w-])|(?<=\\n)){_PARTNER},[ ]{_PARTNER},?[ ](?:and|&)[ ]{_PARTNER}(?![\w-])")
# Items of one plain word before three surnames ("Melissa, Ivo, " before "Clara, Florea and
# Nathan"); a double name is a firm's as often ("Williams-Willis, Cook, Burke and Stewart").
_ITEMS_BEFORE = regexcache.compile(rf"(?<![\w-])(?:[{UPPER}][{LOWER}]+,[ ])+$")
# Two items or more before them, of which double names may be ("Horst-Dieter, Brittany, Rebeka, "
# before "Lars, Christopher and Florentin"): a list too long for a firm's name.
_LONG_ITEMS_BEFORE = regexcache.compile(rf"(?<![\w-])(?:[{UPPER}][{LOWER}]+(?:-[{UPPER}][{LOWER}]+)?,[ ]){{2,}}$")
# Words around three surnames that make them people, not a firm's partners.
_PEOPLE_BEFORE = regexcache.compile(
    r"(?i)\b(?:met|meet|meeting|with|thanks?|thank you|dear|hi|hello|hey|cc|invite[ds]?|ping(?:ed)?|greet(?:ed)?|congratulate[ds]?)[ ,]+$"
)
_PEOPLE_AFTER = regexcache.compile(r"[ ](?:were|are|have|joined|met|will|both|all|each)\b")
_FIRM_SUFFIX_WORDS = (" Inc", " LLC", " Ltd", " PLC", " plc", " Group", " GmbH", " Corp", " LLP", " Limited", " AG", " SA", " BV", " NV")
# A surname (or two joined by a hyphen) before a company word: "Rodriguez Group", "Hull PLC", "Ali-Welch Ltd".
_FIRM_SUFFIXED = regexcache.compile(
    rf"(?:(?<![\w-])|(?<=\\n)){_PARTNER}(?:-{_PARTNER})?,?[ ](?:Inc|LLC|Ltd|PLC|plc|Group|GmbH|Corp|Corporation|LLP|Limited|AG|SA|BV|NV)\b"
)
# A list of surnames is a firm's name after "at", "of", "from" ... or before a company word.
_COMPANY_BEFORE = regexcache.compile(r"(?i:\b(?:at|of|from|the|by|for|with|join(?:ed)?|left|founded)[ ]+)$")
# Firm cues after which a person stands as often: "from", "with", "by", "for".
_PERSON_TOO = ("from", "with", "by", "for")
_FIRM_BEFORE = regexcache.compile(r"(?i:\b(?:at|join(?:ed)?|left|founded|became|work(?:s|ed)? for|vendor|client|partner|firm|agency)[ ]+)$")
_COMPANY_AFTER = regexcache.compile(rf"[ ]+(?:{_CAP}\b|(?i:llc|inc|ltd|plc|group|office|website|is the|is a|is an)\b)")
_CUES = (
    r"in|from|to|at|near|visit(?:ing|ed)?|via|serving|country is|city is|city of|town of|university of|home ?city|hometown|"
    r"where:|located in|based in|born in|live in|lives in|moved to|fly(?:ing)? to|office in"
)
_CUE_BEFORE = regexcache.compile(rf"(?i:\b(?:{_CUES})[ ]+)$")
# Particles inside place names: "Plan-les-Ouates", "Bělá pod Bezdězem", "Mistelbach an der Zaya".
_PLACE_PARTICLES = r"de|del|della|di|da|do|dos|das|du|des|la|le|les|sur|sous|en|et|près|lès|am|an|im|ob|bei|bij|aan|op|den|der|upon|on|pod|nad|na|og|los|las"
# A place word: capitalised, hyphenated parts may be joined by particles ("Sint-Gillis-bij-Dendermonde").
_PLACE_WORD = rf"[{UPPER}][{LOWER}'’]+(?:[{UPPER}][{LOWER}]+)?(?:-(?:(?:{_PLACE_PARTICLES})-)*[{UPPER}][{LOWER}'’]+)*(?![\w'’])"
_PLACE_RUN = rf"{_PLACE_WORD}(?:[ ](?:(?:{_PLACE_PARTICLES})[ ]){{0,2}}{_PLACE_WORD}){{0,3}}"
_UPPER_RUN = rf"[{UPPER}]{{3,}}(?:[ -][{UPPER}]{{2,}}){{0,2}}(?![\w-])"
# Cues before a place. After the weaker ones the place must be known and no English word, a
# country, or shaped like a place ("left Craggmouth", "between Zdice and Kokkedal", "alert for
# Chabařovice", "ARRIVING LARVIK"). One scan finds the cues; the place is matched after each.
_WEAK_CUES = r"for|left|leaving|outside|around|between|across|throughout|towards?|toured|touring|arriving|departing|reached"
_CUE_WORD = regexcache.compile(rf"(?i:\b{first_letters(rf'(?P<strong>{_CUES})|{_WEAK_CUES}')}[ ]+)")
# Capitalised, in capitals, or in lower case ("heading to ocotal", "restaurants in san marino").
_AFTER_CUE = regexcache.compile(
    rf"(?P<place>{_PLACE_RUN})|(?P<upper>{_UPPER_RUN})|(?P<lower>[{LOWER}][{LOWER}'’-]+(?:[ ][{LOWER}][{LOWER}'’-]+){{0,2}})(?![\w'’-])"
)
# More places in the same list: "toured Zdice and Kokkedal", "between Apia and Suva", "in Riga, Tartu".
_AND_NEXT = regexcache.compile(rf"(?:,[ ]|[ ](?:and|or|&)[ ])(?P<place>{_PLACE_RUN})")
# A site named after its place: "the Craggmouth office lease", "Our Apia warehouse", "Steyr airport".
_SITE_WORDS = (
    r"office|offices|branch|warehouse|airport|station|depot|plant|factory|campus|site|store|hub|headquarters|hq|"
    r"harbou?r|bridge|clinic|hospital|area|region|district|team|lease|mall|port"
)
_SITE = regexcache.compile(rf"(?<![\w-])(?P<place>{_PLACE_RUN})[ ](?i:{_SITE_WORDS})(?![\w-])")
# A town before its country: "Mariasund, Sweden", "Moirano, Italy".
_BEFORE_COUNTRY = regexcache.compile(rf"(?<![\w-])(?P<place>{_PLACE_RUN}),[ ]$")
# Place names by their shape, in any language: a particle inside ("Tinguely-les-Bains", "Bělá pod
# Bezdězem"), a saint or a direction first ("Sint-Lievens-Esse", "South Kevin"), a "Dessous" part.
# Between two words only particles that are no English word ("Berlin on Friday" is no place).
_SPACED_PARTICLES = r"de|del|della|di|da|do|dos|das|du|des|la|le|les|sur|sous|près|lès|am|an der|im|ob|bei|bij|aan|op|pod|nad|na"
_PARTICLE_INSIDE = regexcache.compile(rf"[^ ]+-(?:{_PLACE_PARTICLES})-[^ ]+|[^ ]+[ ](?:{_SPACED_PARTICLES})[ ][^ ]+")
_PLACE_PREFIX = regexcache.compile(
    rf"(?:Saint|Sainte|Sint|Sankt|San|Santa|Santo|São|Bad|Nieuw|Oud|Nova|Novo|Nový|Nowy|North|South|East|West|New|Port|Fort|Mount|Lake|Cape|"
    rf"Upper|Lower|Little|Great|Le|La|Les|Los|Las|El|De|Den)[ -][{UPPER}].*"
    rf"|.*-(?:Dessous|Dessus|Village|Station)"
)
_ARTICLES = frozenset({"el", "al", "ar", "as", "an", "la", "le", "les", "los", "las", "de", "den", "het"})
_ARTICLE_FIRST = regexcache.compile(r"(?:Le|La|Les|Los|Las|El|De|Den)[ -]")
_COMPANY_WORDS = frozenset(
    """inc inc. llc ltd ltd. plc corp corp. co co. group bank gmbh ag sa bv nv spa kg oy ab as university
    college school institute hospital foundation association council committee ministry department
    office agency services solutions systems technologies labs studio studios partners capital and
    orchestra band choir ensemble quartet trio club records church hotel restaurant cafe café theatre
    theater museum gallery press media pictures films motors airlines airways insurance consulting
    holdings industries enterprises international global fc united sons brothers associates
    of the for""".split()
)
# Words that open a sentence or label a thing, never read as a first name.
_NOT_FIRST = frozenset(STOP_WORDS) | frozenset(
    """thanks thank please hello hi hey dear regards best cheers sincerely yes no ok okay sure great
    good morning evening afternoon today tomorrow yesterday monday tuesday wednesday thursday friday
    saturday sunday january february march april may june july august september october november
    december street road avenue lane drive city country state summary note notes meeting ticket order
    customer user agent assistant system team support admin account error warning info debug contact
    call email ask tell ping message""".split()
)
_NEUTRAL_PREFIX = "I spoke with "
# A lone capitalised word where a person is expected: after "with", "to", "for", "met", "thanks
# to" ... ("I went shopping with Javier", "Send it to Křížová"), or the subject of a question
# ("Is Schlatter coming?"); not the first of two capitalised words (pairs are read elsewhere).
_LONE = rf"(?P<name>{_CAP})(?![\w'’-])(?![ ]{_CAP})"
# Cues after which a common first name is a person's, whatever the model says ("I went shopping
# with Javier", "I met Joel", "voted for Amanda"; not "to", "by", "for": "flew to Chelsea").
_STRONG_PERSON_CUE = regexcache.compile(rf"(?i:\b{first_letters('with|without|met|meet|voted for|thanks to|according to|tell')})[ ]+{_LONE}")
# Cues before the model's ORG after which a name with a common first name is a person's.
_VOTED_FOR_BEFORE = regexcache.compile(r"(?i:\b(?:met|meet|voted for|thanks to|according to|tell)[ ]+)$")
# Assistants, products and languages that are common first names too ("ask Claude", "with Julia").
_NAMED_PRODUCTS = NAMED_PRODUCTS
_PERSON_CUE = regexcache.compile(rf"(?i:\b{first_letters('with|without|to|for|by|met|meet|ask|tell|voted for|thanks to|according to')})[ ]+{_LONE}")
# A capitalised word with a letter English has none of: "Křížová", "Dūmiņa-Kölbl".
_FOREIGN_WORD = regexcache.compile(rf"(?<![\w'’-])(?=[{UPPER}][\w'’-]*[^\x00-\x7f])[{UPPER}][{LOWER}'’]+(?:-[{UPPER}][{LOWER}'’]+)?(?![\w'’-])")
# A lone capitalised ASCII word, with no capitalised word right before or after it ("Friday Demo",
# "Davids GbR" are read as runs elsewhere).
_CAP_WORD_ANYWHERE = regexcache.compile(rf"(?<![\w'’-])[{UPPER}][a-z]{{3,}}(?![\w'’-])")
_FIRM_WORD_AFTER = regexcache.compile(r"[ ]+(?i:llc|inc|ltd|plc|group|gmbh|corp|company|& co|and sons)\b")
_NEXT_CAP_WORD = regexcache.compile(rf"[ ]((?:Ma?c)?{_CAP})(?![\w'’-])")
_CAP_BEFORE = regexcache.compile(rf"[{UPPER}][\w'’-]*[ ]$")
_CAP_AFTER = regexcache.compile(rf"[ ][{UPPER}]")
_ASKED_SUBJECT = regexcache.compile(rf"(?:^|(?<=[.!?][ ])|(?<=\n))(?:Is|Was|Has|Did|Does|Can|Will|Should|Could|Would)[ ]{_LONE}(?=[ ][{LOWER}])")
# A known first and last name the neutral sentence read as one of these is asked again.
_ASK_AGAIN = frozenset({"ORG", None})
_SECOND_PROBES = (("My name is {}.", len("My name is ")), ("She met {} yesterday.", len("She met ")))
# What the model calls a proper noun it does not read as a person ("Yusuf Kabir" is a PRODUCT to it).
_PROPER_LABELS = frozenset({"ORG", "PRODUCT", "GPE", "NORP", "FAC", "LOC", "WORK_OF_ART"})
# Two words in lower case or in capitals, overlapping ("check if harold moseti": "if harold", "harold moseti").
_LOWER_PAIR = regexcache.compile(rf"(?<![\w'’-])(?=([{LOWER}][{LOWER}'’-]+) ([{LOWER}][{LOWER}'’-]+)(?![\w-]))")
_CAPS_PAIR = regexcache.compile(rf"(?<![\w'’-])(?=([{UPPER}][{UPPER}'’-]+) ([{UPPER}][{UPPER}'’-]+)(?![\w-]))")
# English place-name endings and prefixes: "Taylorfort", "Knightchester", "East Pottshaven".
# English, French, German, Dutch and Nordic place-name endings ("Gordonneath", "MorelBourg", "Sellingen").
_TOWN_SUFFIXES = (
    "town ton land ville berg burg burgh borough bury view port mouth stad furt chester caster cester fort "
    "haven side shire ham field ford wood dale mere minster wick worth ington by thorpe burn neath "
    "bourg court mont dorf heim hausen stadt ingen bach hofen feld dam drecht hoven wijk veen horst "
    "broek köping holm vik fors sted strup rup lev sund "
    "dorp stein nes sand strøm sjøen borg bjerg fjord dal våg øy ås strand havn hamn foss odden boeuf nec"
).split()
_TOWN = regexcache.compile(
    rf"(?:(?:North|South|East|West|New|Lake|Port|Mount|Fort|Saint|St\.?|Upper|Lower|Great|Little|De|Den|Het|Le|La|El)[ ])?[{UPPER}][{LOWER}]{{2,}}(?i:{'|'.join(_TOWN_SUFFIXES)})"
)
_PARTICLE_WORDS = frozenset(_PLACE_PARTICLES.split("|"))
_NEXT_WORD = regexcache.compile(r"[ ]+(?:and[ ]+)?([\w.]+)")
# Travel between two places: after "from X", a "to" introduces a place too.
_TRIP_BEFORE = regexcache.compile(rf"(?i:\bfrom)[ ]+(?P<origin>{_PLACE_RUN})[ ]+to[ ]+$")
_PLACE_PREFIX_SENTENCE = "She lives in "
# Fields that hold a place: "delivery_city: Momostenango", "State/Province: Tirol", "country=Peru".
# Upper-case values and fields that may hold other things ("location: Settings", "office: Sales")
# must be known places, countries or place-shaped; "key=value" pairs may follow ("city=Zdice status=ok").
# A lower-case type word may end the value: "Jämtlands län [SE-23]", "Kerry county".
_FIELD_END = rf"(?=[ \t]*(?:[\"',;\n\[(|}}]|$)|[ \t]+[\w.-]+=|[ \t]+[{LOWER}]+[ \t]*(?:[\[\n]|$))"
_FIELD_NAMES = (
    "city", "town", "country", "state", "province", "region", "county", "district", "canton", "prefecture", "municipality",
    "village", "location", "destination", "origin", "hometown", "birthplace", "office",
)  # fmt: skip
_PLACE_FIELD = regexcache.compile(rf"(?i:(?P<name>{'|'.join(_FIELD_NAMES)})[\"']?[ \t]*[:=][ \t]*[\"']?)"
    rf"(?:(?P<place>{_PLACE_RUN})|(?P<upper>{_UPPER_RUN})){_FIELD_END}"
)
_WEAK_FIELDS = frozenset({"location", "destination", "origin", "hometown", "birthplace", "office"})
# A capitalised run that may be a known place the model has never seen ("Our Abbottabad team").
_KNOWN_RUN = regexcache.compile(rf"(?<![\w-]){_PLACE_RUN}")
# Words in lower case: a place's first (four letters or more: "ocotal", "paso de los libres"),
# its next ones, and the words that tell English text.
_LOWER_WORD = regexcache.compile(rf"(?<![\w'’-])[{LOWER}]{{4,}}(?![\w'’-])")
_LOWER_NEXT = regexcache.compile(rf"[ ]([{LOWER}]{{2,}})(?![\w'’-])")
_LOWER_ENGLISH = regexcache.compile(rf"(?<![\w'’-])[{LOWER}]{{3,}}(?![\w'’-])")
# Runs of words in capitals: "PASO DE LOS LIBRES", "SAINT-DENIS"; a word of them, two in a row.
_UPPER_WORD = regexcache.compile(rf"(?<![\w-])[{UPPER}]{{3,}}(?![\w-])")
_UPPER_PAIR = regexcache.compile(rf"[{UPPER}]{{2,}}[ ][{UPPER}]{{2,}}")
_UPPER_KNOWN_RUN = regexcache.compile(rf"(?<![\w-])[{UPPER}][{UPPER}'’]+(?:-[{UPPER}][{UPPER}'’]*)*(?:[ ][{UPPER}][{UPPER}'’]*(?:-[{UPPER}][{UPPER}'’]*)*){{0,4}}(?![\w-])")
# Capitalised (or upper-case) runs that may hold a country's name: "Saint Vincent and the Grenadines".
_CONNECTOR_WORDS = frozenset({"and", "of", "the", "&", "d'"})
_RUN_WORD = regexcache.compile(rf"[{UPPER}][{UPPER}{LOWER}'’]*|and|of|the|&|AND|OF|THE")
_COUNTRY_RUN = regexcache.compile(
    rf"(?<![\w-])[{UPPER}][{UPPER}{LOWER}'’]*(?:[ ](?:(?:and|of|the|&|AND|OF|THE)[ ]){{0,2}}[{UPPER}][{UPPER}{LOWER}'’]*)*(?![\w-])"
)
# Labels under which the small model files foreign names and places; naive Presidio masks them all.
_FLOOR_LABELS = frozenset({"ORG", "NORP", "WORK_OF_ART"})
_FLOOR_SPAN = regexcache.compile(
    rf"(?:(?i:the)[ ]+)?(?P<words>{_CAP}(?:[ ](?:{_CAP}|van|von|de|der|den|da|di|du|del|la|le)){{0,3}})|(?P<slashed>{_CAP}/{_CAP})"
)


# Words after which a person stands, and verbs only people do after one.
_PERSON_SLOT_BEFORE = regexcache.compile(
    r"(?:\b(?:by|if|with|for|to|from|ask|tell|cc|im|i'm|am|is|called|named|met|meet|contact|call|thanks|my \w+)[ ]+)\Z"
)
_PERSON_VERB_AFTER = regexcache.compile(r"[ ]+(?:wants|said|says|asked|told|wrote|lives|is from|will|was|has|needs|called|emailed)\b")
_VOWEL = regexcache.compile(r"[aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýāăąēĕėęěīĭįıōŏőœūŭůűų]", re.I)


def _spoken(word: str) -> bool:
    """A word that can be spoken as a name: three letters or more, a vowel ("GCP" is an acronym)."""
    return len(word) >= 3 and _VOWEL.search(word) is not None


def _person_slot(text: str, start: int, end: int) -> bool:
    """A person's place: after "by", "if", "with", "im", "my sister" ..., or at a line's start
    before a verb people do ("parin wimolnot wants to cancel")."""
    if text[max(0, start - 1) : start] in ("", "\n"):
        return _PERSON_VERB_AFTER.match(text, end) is not None
    return _PERSON_SLOT_BEFORE.search(text, max(0, start - 24), start) is not None


def _neutral(name: str) -> str:
    return f"{_NEUTRAL_PREFIX}{name} yesterday."


def _not_a_name(word: str) -> bool:
    lower = word.lower()
    return lower in _NOT_FIRST or lower in _COMPANY_WORDS


def _words(span: str) -> list[str]:
    return span.split(" ")


def _first_line_end(text: str, start: int, end: int) -> int:
    """The end of the span's first line: a label across lines ("Marina Štrljić\\n\\nLawyer",
    with real or escaped line breaks) is cut to its first line."""
    cut = min((i for i in (text.find("\n", start, end), text.find("\\n", start, end)) if i > start), default=end)
    return start + len(text[start:cut].rstrip(" \t"))


def _title(span: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in span.split(" "))


_LIST_JOINT = regexcache.compile(r",[ ](?:(?:and|&|or)[ ])?|[ ](?:and|&|or)[ ]")


def _firm_of_listed(match: re.Match[str]) -> tuple[int, int]:
    """The firm in a list whose words include a company word: the whole list ("Morris and Sons",
    "Smith, Francis and Bell Orchestra": a firm's partners are single surnames), or only its last
    item when that item is a firm of its own after a person's full name ("between Halima Shehu
    and Taylor Group")."""
    joints = list(_LIST_JOINT.finditer(match.group()))
    items = [match.group()[a.end() if a else 0 : b.start() if b else None] for a, b in zip([None, *joints], [*joints, None])]
    last = items[-1].split(" ")
    before = [item.split(" ") for item in items[:-1]]
    if len(last) == 2 and last[-1].lower() in _COMPANY_WORDS and all(w.lower() not in _COMPANY_WORDS for item in before for w in item) and any(
        len(item) == 2 for item in before
    ):
        return match.start() + joints[-1].end(), match.end()
    return match.span()


def _in_firm(text: str, result: RecognizerResult, firms: Sequence[tuple[int, int]]) -> bool:
    """Whether a place names (part of) a firm: "at Tapia Group", "Thorpe Ltd", "at Adams,
    Holland and Wallis"."""
    after = _NEXT_WORD.match(text, result.end)
    if after and after.group(1).lower() in _COMPANY_WORDS - {"and", "of", "the", "for"}:
        return True
    return any(s <= result.start and result.end <= e for s, e in firms)


def _cued_place(text: str, at: int) -> bool:
    """Whether a place cue ("in", "from", "city of" ...) ends right before `at`."""
    return _CUE_BEFORE.search(text[max(0, at - 24) : at]) is not None


class SecondOpinion:
    """PERSON and LOCATION findings the small model missed or mislabelled."""

    def __init__(self, nlp: Language, gazetteer: Gazetteer, probes: Probes) -> None:
        self._probes = probes
        self._gaz = gazetteer
        # The words the model was shipped with, lower-cased, frozen before any text adds to the
        # vocabulary: English words and common English names are there; most foreign names,
        # which the model calls ORG or nothing, are not.
        self._seen = frozenset(word for word in nlp.vocab.strings if word.islower())
        self._english_words = EnglishWords(nlp)  # "mark", "grant": read only when a seen lower-case pair needs it
        self._cues = NameCues(gazetteer, self._seen, _not_a_name, self._english_words)
        self._last_firms = threading.local()  # per thread: (text, its people_firms), asked up to five times per text

    def analyze(self, text: str, model_spans: Iterable[tuple[int, int, str]], wanted: frozenset[str]) -> list[RecognizerResult]:
        """`model_spans`: (start, end, spaCy label) of every entity the model found in `text`."""
        spans = list(model_spans)
        results: list[RecognizerResult] = []
        if "PERSON" in wanted:
            # The model-free names: none inside a firm's partners or before a company word.
            surnames = self.suffixed_firms(text) + self.partner_firms(text)
            kept = [r for r in self._names(text, spans) if not self._in_span(r, surnames)]
            results += self._enumerations(text)
            results += self._cued_lone_names(text)
            results += self._cued_common_first(text, spans)
            results += self._foreign_words(text)
            # Speaker labels, pairs, lists, possessives (redactors.namecues); none inside a firm's name.
            results += self._cues.analyze(text, spans, [(r.start, r.end) for r in kept + results])
            # Names grown over particles and a missed surname ("Maya van der Lede"); a surname
            # after particles that the model read as a place ("starring van Dongen").
            names = [(s, e) for s, e, label in spans if label in ("PERSON", "PER")] + [(r.start, r.end) for r in kept + results]
            places = [(s, e) for s, e, label in spans if label in ("GPE", "LOC")]
            grown = self._cues.grow(text, names) + self._cues.particle_surnames(text, places)
            results += [RecognizerResult("PERSON", s, e, 0.6) for s, e in grown]
            # The others: none inside any firm's name ("Vendor onboarding for Cook, McKenzie and Simpson").
            firms = self.people_firms(text) if results else []
            results = kept + [r for r in results if not self._in_span(r, firms)]
        floor = [r for r in self._floor(text, spans) if r.entity_type in wanted]
        if "LOCATION" in wanted:
            results += self._places(text, spans)
            if "PERSON" in wanted:
                results += self._names_after_places(text, [r for r in results + floor if r.entity_type == "LOCATION"])
        if floor and "PERSON" in wanted:
            firms = self.people_firms(text)  # "at Brown, Gross and Sanchez": the model's ORG is a firm
            floor = [r for r in floor if r.entity_type != "PERSON" or not any(s <= r.start and r.end <= e for s, e in firms)]
        return results + floor

    def _names_after_places(self, text: str, places: Sequence[RecognizerResult]) -> list[RecognizerResult]:
        """A first name read as a place, before a known last name, the two no known place: they are a
        person's name ("A tribute to Isabel Lopez"; "Santa Cruz" is a place)."""
        found = []
        for place in places:
            after = _NEXT_CAP_WORD.match(text, place.end)
            if after is None or " " in text[place.start : place.end]:
                continue
            first, last = text[place.start : place.end], after.group(1)
            if self._gaz.is_first(first) and self._gaz.is_last(last) and not self._gaz.is_place(f"{first} {last}") and not _not_a_name(last):
                if not _FIRM_WORD_AFTER.match(text, after.end()):
                    found.append(RecognizerResult("PERSON", place.start, after.end(), 0.6))
        return found

    def _floor(self, text: str, spans: Sequence[tuple[int, int, str]]) -> list[RecognizerResult]:
        """Spans the model labelled ORG, NORP, WORK_OF_ART (or PRODUCT, for names) that are a place or a person's name."""
        results = []
        for start, end, label in spans:
            end = _first_line_end(text, start, end)
            match = _FLOOR_SPAN.fullmatch(text, start, end) if label in _FLOOR_LABELS or label == "PRODUCT" else None
            if match is None:
                continue
            if label == "PRODUCT":  # "says Crystal Nguyen": a product to the model, a person's two names
                words = _words(match.group("words") or "")
                if self._two_names(text, match.start(), words):
                    results.append(RecognizerResult("PERSON", start, end, 0.5))
                continue
            if match.group("slashed"):  # "Palmer/Courtney": surname/given name, as on a ticket
                if self._floor_person(text, start, match.group("slashed").split("/")):
                    results.append(RecognizerResult("PERSON", start, end, 0.5))
                continue
            at = match.start("words")
            words = _words(match.group("words"))
            while len(words) > 1 and words[0].lower() in _NOT_FIRST:  # "Contact Candela Diaz": the verb is no name
                at += len(words.pop(0)) + 1
            n = self._floor_place(text, at, words) if not _FIRM_SUFFIXED.match(text, at) else 0  # "Rodriguez Group" is a firm
            if n:
                results.append(RecognizerResult("LOCATION", at, at + len(" ".join(words[:n])), 0.5))
            elif self._floor_person(text, at, words) if label == "ORG" else self._two_names(text, at, words):
                results.append(RecognizerResult("PERSON", at, match.end("words"), 0.5))
        return results

    def _two_names(self, text: str, at: int, words: Sequence[str]) -> bool:
        """Two words, a common first name and a known last name, none a common or company word
        and not introduced as a firm: a person's, whatever the model's label ("Teresa Almeida"
        as a WORK_OF_ART; "Tesla Model", "Morgan Stanley at" stay)."""
        if len(words) != 2 or any(w.lower() in _COMPANY_WORDS or w.lower() in _NOT_FIRST for w in words):
            return False
        if _FIRM_BEFORE.search(text, max(0, at - 24), at) or _FIRM_WORD_AFTER.match(text, at + len(" ".join(words))):
            return False
        return self._gaz.is_common_first(words[0]) and self._gaz.is_last(words[1]) and not self._gaz.is_place(" ".join(words))

    @staticmethod
    def _in_span(result: RecognizerResult, spans: Sequence[tuple[int, int]]) -> bool:
        return any(s <= result.start and result.end <= e for s, e in spans)

    def _floor_place(self, text: str, at: int, words: list[str]) -> int:
        """How many leading words of the span name a place ("Gondomar" of "Gondomar Country Club"); 0: none."""
        cued = _cued_place(text, at)
        for n in range(len(words), 0, -1):
            head = words[:n]
            if any(w.lower() in _COMPANY_WORDS for w in head):
                continue
            phrase = " ".join(head)
            if self._gaz.is_place(phrase) and (cued or all(self._unseen(w) for w in head)):
                return n
            if cued and _TOWN.fullmatch(phrase) and self._unseen(head[-1]):
                return n
        return 0

    def _floor_person(self, text: str, at: int, words: list[str]) -> bool:
        if any(w.lower() in _COMPANY_WORDS or w.lower() in _NOT_FIRST for w in words):
            return False
        if _VOTED_FOR_BEFORE.search(text, max(0, at - 16), at) and self._gaz.is_common_first(words[0]):
            return True  # "voted for Amanda Boyd", "according to Ruth Ellis"
        cue = _COMPANY_BEFORE.search(text, 0, at)
        if cue and not (cue.group().lower().startswith(_PERSON_TOO) and self._first_and_unseen(words)):
            return False  # "at Miller Group"; but "reassigned from Sophie Matile" is a person
        return self._gaz.is_first(words[0]) or (len(words) > 1 and self._gaz.is_last(words[-1]))

    def _first_and_unseen(self, words: Sequence[str]) -> bool:
        """Two words: a common first name and a surname the model never saw ("Sophie Matile";
        "Morgan Stanley" is seen)."""
        return len(words) == 2 and self._gaz.is_common_first(words[0]) and self._unseen(words[1])

    def unseen(self, word: str) -> bool:
        """Whether the model's shipped vocabulary lacks `word` (lower-cased)."""
        return word.lower() not in self._seen

    _unseen = unseen  # the name the rules of this class use

    def _name_evidence(self, words: Sequence[str]) -> tuple[bool, bool]:
        """(plausible at all, sure without the model): known name words, no common or company word."""
        if any(w.lower() in _COMPANY_WORDS or w.lower() in _NOT_FIRST for w in words):
            return False, False
        first, last = self._gaz.is_first(words[0]), self._gaz.is_last(words[-1])
        if not (first or last):
            return False, False
        unseen = all(self._unseen(w) or self._gaz.is_name(w) and self._unseen(w) for w in words)
        # A lone word needs a common first name: the gazetteer's tail has product names ("Jira", "Okta").
        return True, unseen and (first or last) and (len(words) > 1 or first)

    def _both_known(self, words: Sequence[str]) -> bool:
        return self._gaz.is_first(words[0]) and self._gaz.is_last(words[-1])

    def _names(self, text: str, spans: Sequence[tuple[int, int, str]]) -> list[RecognizerResult]:
        person = [(s, e) for s, e, label in spans if label in ("PERSON", "PER")]
        sure: list[tuple[int, int]] = []
        ask: list[tuple[int, int]] = []
        for match in _CANDIDATE.finditer(text):
            start, end = match.span()
            words = _words(match.group())
            if len(words) > 1 and words[0].lower() in STOP_WORDS:  # "The Joel Ellis version": the run after "The"
                start += len(words[0]) + 1
                words = words[1:]
            if any(s <= start and end <= e for s, e in person):
                continue  # the model already says PERSON
            plausible, certain = self._name_evidence(words)
            if certain:
                sure.append((start, end))
            elif plausible and len(words) > 1 and self._both_known(words):
                ask.append((start, end))
        readings = self._model_reads([_title(text[s:e]) for s, e in ask])
        found = sure + [(s, e) for (s, e), label in zip(ask, readings, strict=True) if self._asked_is_person(text, s, e, label, spans)]
        # Read as a firm or as nothing: two other sentences decide, both must read a person (asked
        # once the first answer is known, not for every pair of a first pass).
        again = [
            (s, e) for (s, e), label in zip(ask, readings, strict=True)
            if label in _ASK_AGAIN and (s, e) not in found and not self._probes.unanswered(_neutral(_title(text[s:e])))
        ]  # fmt: skip
        found += [span for span, person in zip(again, self._model_reads_twice([_title(text[s:e]) for s, e in again]), strict=True) if person]
        found += self._lower_case_names(text)
        return [RecognizerResult("PERSON", s, e, 0.6) for s, e in found]

    def _foreign_words(self, text: str) -> list[RecognizerResult]:
        """Words that are names wherever they stand: a capitalised word with letters English has
        none of that the model never saw and the gazetteer knows as no place, no country and no
        town ("Pašková", "Dūmiņa"; "Zürich", "Kraków" and "café", which the model saw, stay); a
        lone capitalised word the model never saw that the gazetteer knows as a surname only, no
        first name (products are: "Okta", "Jira") and no place ("Schlatter", "Holubec")."""
        found = []
        for match in _FOREIGN_WORD.finditer(text) if not text.isascii() else ():
            word = match.group()
            if len(word) < 3 or not self._unseen(word) or _not_a_name(word):
                continue
            if self._gaz.is_place(word) or self._gaz.is_country(word) or self._gaz.is_town(word):
                continue
            found.append(RecognizerResult("PERSON", match.start(), match.end(), 0.6))
        for match in _CAP_WORD_ANYWHERE.finditer(text):
            word = match.group()
            if not self._unseen(word) or not self._gaz.is_last(word) or self._gaz.is_first(word) or _not_a_name(word) or self._gaz.is_place(word):
                continue
            if not (_CAP_BEFORE.search(text, max(0, match.start() - 30), match.start()) or _CAP_AFTER.match(text, match.end())):
                found.append(RecognizerResult("PERSON", match.start(), match.end(), 0.6))
        return found

    def _cued_lone_names(self, text: str) -> list[RecognizerResult]:
        """A lone word where a person is expected (see ``_PERSON_CUE``) that the model never saw
        and that is no known place: one with letters English has none of ("to Křížová"), or a
        known surname that is no first name ("Is Schlatter coming?", "Thanks to Holubec").
        Products the gazetteer lists as names are first names too ("Okta", "Gemini") and stay;
        common first names the model knows ("with Javier", but also "ask Claude") are left to it."""
        found = []
        for match in [*_PERSON_CUE.finditer(text), *_ASKED_SUBJECT.finditer(text)]:
            word = match.group("name")
            if not self._unseen(word) or _not_a_name(word) or self._gaz.is_place(word) or self._gaz.is_country(word):
                continue
            if not word.isascii() or self._gaz.is_last(word) and not self._gaz.is_first(word):
                found.append(RecognizerResult("PERSON", match.start("name"), match.end("name"), 0.6))
        return found

    def _cued_common_first(self, text: str, spans: Sequence[tuple[int, int, str]]) -> list[RecognizerResult]:
        """A common first name the model knows after a strong person cue ("shopping with Javier",
        "I met Joel"), which the model read as nothing, an ORG or a NORP; not a country, nor an
        assistant or a product named like a person ("with Claude", "with Julia")."""
        found = []
        for match in _STRONG_PERSON_CUE.finditer(text):
            word, start, end = match.group("name"), match.start("name"), match.end("name")
            if word.lower() in _NAMED_PRODUCTS or not self._gaz.is_common_first(word) or self._gaz.is_country(word):
                continue
            if any(s < end and start < e and label not in _FLOOR_LABELS for s, e, label in spans):
                continue  # the model's own label (a place, a date) stands
            found.append(RecognizerResult("PERSON", start, end, 0.6))
        return found

    def _lower_case_names(self, text: str) -> list[tuple[int, int]]:
        """"kavya smith", "BETHAN LAWRENCE": two words in lower case or in capitals, a known first
        name then a known last name or a word the model never saw ("harold moseti"), none a common
        word and one of them not in the model's vocabulary or both no English word ("mark bill",
        "pop song" and "PLEASE CALL" are English; see `_lower_pair_candidate`); the model, asked
        about them title-cased, decides. Pairs overlap: in
        "check if harold moseti" the pair "if harold" does not hide the name."""
        found = []
        pairs = [*_LOWER_PAIR.finditer(text)] + ([*_CAPS_PAIR.finditer(text)] if _UPPER_PAIR.search(text) else [])
        for match in pairs:
            if self._lower_pair_candidate(match.group(1).lower(), match.group(2).lower(), lambda m=match: _person_slot(text, m.start(1), m.end(2))):
                found.append((match.start(1), match.end(2)))
        if not found:
            return []
        answers = self._probes.entities_many([f"{_NEUTRAL_PREFIX}{_title(text[s:e].lower())} yesterday." for s, e in found])
        names = []
        for (start, end), entities in zip(found, answers, strict=True):
            length = self._name_length(text[start:end], entities)
            if length:
                names.append((start, start + length))
        return names

    def _lower_pair_candidate(self, first: str, last: str, slot: Callable[[], bool]) -> bool:
        """A known first name, then a known last name or a word the model never saw, none a
        common word; one of them unseen by the model ("harold moseti"), or both known names that
        are no English dictionary word ("flavio ellis"; "mark grant", "will smith" are English).
        Or, where a person stands (`_person_slot`), a word the model never saw, then another or a
        known name, neither English ("by tajudinn qaasim"; "we use pgbouncer pgpool" stays)."""
        if first in _NOT_FIRST or last in _NOT_FIRST or last in _COMPANY_WORDS:
            return False
        if not self._gaz.is_first(first):  # "by tajudinn qaasim", "if pattapon deo is": where a person stands
            foreign = self._unseen(first) and not any(map(self._cues.english_form, (first, last))) and all(map(_spoken, (first, last)))
            return foreign and (self._unseen(last) or self._gaz.is_name(last)) and slot()
        known_last = self._gaz.is_last(last)
        if self._unseen(first) or self._unseen(last):
            return known_last or self._unseen(last) and not self._gaz.is_first(last)
        return known_last and first not in self._english_words and last not in self._english_words

    def _name_length(self, pair: str, entities: Sequence[tuple[int, int, str]]) -> int:
        """How much of the pair the model, asked about it title-cased, reads as a name: its
        PERSON (or, when the first word is a common first name or no word of the pair is English
        or known to the model, any proper noun's: "Kavya Smith" reads as a firm to it, "Yusuf
        Kabir" as a product, "Olufunke Oyaifo" as a firm; "Apache Spark" is no name) entity's
        length within the pair; 0: none."""
        start = len(_NEUTRAL_PREFIX)
        words = pair.split(" ")
        foreign = self._gaz.is_common_first(words[0]) or all(self._unseen(w) and w.lower() not in self._english_words for w in words)
        for s, e, label in entities:
            if s <= start < e and (label in ("PERSON", "PER") or label in _PROPER_LABELS and foreign):
                return min(len(pair), e - start)  # "xiaoming set up": the name is "xiaoming"
        return 0

    def _model_reads(self, names: Sequence[str]) -> list[str | None]:
        """Per name, the label the model gives it in a neutral sentence ("I spoke with …
        yesterday."); None: no entity there."""
        if not names:
            return []
        answers = self._probes.entities_many([_neutral(name) for name in names])
        start = len(_NEUTRAL_PREFIX)
        return [next((label for s, e, label in found if s <= start < e), None) for found in answers]

    def _model_reads_twice(self, names: Sequence[str]) -> list[bool]:
        """Per name, whether the model reads a PERSON in both of two more sentences ("My name is
        …." and "She met … yesterday."): "Lydia Short" and "Sifa Kiptoo" read as firms after "I
        spoke with", as people in both; "Grace Period", "Will Power", "Morgan Stanley" in neither."""
        if not names:
            return []
        answers = self._probes.entities_many([probe.format(name) for name in names for probe, _ in _SECOND_PROBES])
        verdicts = []
        for i, name in enumerate(names):
            reads = answers[i * len(_SECOND_PROBES) : (i + 1) * len(_SECOND_PROBES)]
            verdicts.append(all(
                any(label in ("PERSON", "PER") and s <= at < e and e >= at + len(name.split(" ")[0]) for s, e, label in found)
                for found, (_, at) in zip(reads, _SECOND_PROBES, strict=True)
            ))  # fmt: skip
        return verdicts

    def _asked_is_person(self, text: str, start: int, end: int, label: str | None, spans: Sequence[tuple[int, int, str]]) -> bool:
        """A known first and last name the model read, in a neutral sentence, as a PERSON; or as
        nothing, there and in the text, when the first is a common first name and the last no
        English word ("Isabel Cruz will be talking"; "Grace Church", "Jack Daniels" are read, and
        "Mark Grant" is English)."""
        if label in ("PERSON", "PER"):
            return True
        if label is not None or any(s < end and start < e for s, e, _ in spans):
            return False
        words = _words(text[start:end])
        return self._gaz.is_common_first(words[0]) and words[-1].lower() not in self._english_words

    def firm_names(self, text: str) -> list[tuple[int, int]]:
        """Spans of firms named after people: "Moore, Fitzgerald and Shaw" after "for", "at",
        "of" ... or before a company word; "Morris and Sons". The model's PERSON and place
        labels inside them are no one's name."""
        spans = []
        for match in _ENUMERATION.finditer(text):
            words = [w.lower() for w in re.findall(_CAP, match.group())]
            if any(w in _COMPANY_WORDS for w in words[1:]):
                spans.append(_firm_of_listed(match))  # "Morris and Sons"
                continue
            cued = _FIRM_BEFORE.search(text, 0, match.start()) or _COMPANY_AFTER.match(text, match.end())
            # Three names in a row, introduced as an employer or followed by what a firm is.
            if cued and len(words) >= 3:
                spans.append(match.span())
        return spans

    @staticmethod
    def suffixed_firms(text: str) -> list[tuple[int, int]]:
        """A surname or a place before a company word: "Rodriguez Group", "Hull PLC"."""
        if not any(word in text for word in _FIRM_SUFFIX_WORDS):
            return []
        return [m.span() for m in _FIRM_SUFFIXED.finditer(text)]

    def partner_firms(self, text: str) -> list[tuple[int, int]]:
        """A firm's partners: "Richardson, White and Edwards" (see `_partners`)."""
        if "," not in text or not (" and " in text or " & " in text):
            return []
        return [m.span() for m in _PARTNERS.finditer(text) if self._partners(text, m)]

    def people_firms(self, text: str) -> list[tuple[int, int]]:
        """Every firm named after people: no name or place finding lies inside one."""
        last = getattr(self._last_firms, "value", None)
        if last is not None and last[0] is text:
            return last[1]
        firms = self.firm_names(text) if "," in text or " and " in text else []
        found = sorted(set(firms + self.suffixed_firms(text) + self.partner_firms(text)))
        self._last_firms.value = (text, found)
        return found

    def _partners(self, text: str, match: re.Match[str]) -> bool:
        """"Richardson, White and Edwards": three known surnames, at most one of them unseen by
        the model (English surnames are seen), joined as a firm's partners are; not a list
        introduced by a colon ("our founders: ..."), no foreign list ("Kowalczyk, Nakamura and
        Okafor"), no list of known places ("London, Paris and Berlin") and
        no list of first names ("Emma, Olivia and Sophia")."""
        if after_colon(text, match.start()):
            return False
        if self._ends_longer_list(text, match.start()):
            return False  # "Melissa, Ivo, Clara, Florea and Nathan": the tail of a longer list of people
        if _PEOPLE_BEFORE.search(text, max(0, match.start() - 24), match.start()) or _PEOPLE_AFTER.match(text, match.end()):
            return False  # "I met Wilson, Davidson and Sharp", "... and Sharp were hired": people, whatever their names
        words = re.findall(_PARTNER, match.group())
        if sum(self._unseen(w) for w in words) > 1 or all(self._known(w) for w in words):
            return False  # "Kowalczyk, Nakamura and Okafor": people; "London, Paris and Berlin": places
        return all(self._gaz.is_last(w) for w in words) and not all(self._gaz.is_common_first(w) for w in words)

    @staticmethod
    def _ends_longer_list(text: str, start: int) -> bool:
        """Whether items joined by commas alone stand before `start`: three surnames are then the
        tail of one longer list, which no firm's name is. After another firm ("Williams, Brookes
        and Phillips, Butler, Holmes and Turner", "Perry and Sons, King, Waters and Duncan") the
        items are firms."""
        items = _LONG_ITEMS_BEFORE.search(text, max(0, start - 80), start) or _ITEMS_BEFORE.search(text, max(0, start - 80), start)
        return items is not None and not text.endswith((" and ", " & ", ", "), 0, items.start())

    def _enumerations(self, text: str) -> list[RecognizerResult]:
        results = []
        for match in _ENUMERATION.finditer(text):
            if _COMPANY_BEFORE.search(text, 0, match.start()) or _COMPANY_AFTER.match(text, match.end()):
                continue  # "at Lee, Perkins and Finch", "The Smith, Francis and Bell Orchestra": a firm
            words = [(m.group(), m.start()) for m in re.finditer(_CAP, match.group())]
            if any(w.lower() in _NOT_FIRST or w.lower() in _COMPANY_WORDS for w, _ in words):
                continue
            known = sum(self._gaz.is_first(w) for w, _ in words)
            if known * 2 > len(words) or known == len(words):
                base = match.start()
                results += [RecognizerResult("PERSON", base + at, base + at + len(w), 0.6) for w, at in words]
        return results

    def _places(self, text: str, spans: Sequence[tuple[int, int, str]]) -> list[RecognizerResult]:
        ask: list[tuple[int, str]] = []  # (start, the place as written): the model decides
        results = self._cued_places(text, ask) + self._field_places(text, ask)
        countries = self._countries(text)
        results += self._unseen_places(text) + countries + self._before_countries(text, countries)
        if self._may_hold_upper_place(text):
            results += [r for r in self._unseen_places(text, _UPPER_KNOWN_RUN) if r.end - r.start >= 3]
        results += self._lower_case_known(text)
        said = self._model_says_place([_title(place) for _, place in ask])
        results += [RecognizerResult("LOCATION", at, at + len(place), 0.6) for (at, place), ok in zip(ask, said, strict=True) if ok]
        results += self._listed_with(text, [*(r.end for r in results), *(e for _, e, label in spans if label in ("GPE", "LOC"))])
        sites = self._site_places(text)
        firms = self.people_firms(text) if results or sites else []
        # A site's word ("office") is a company word too: those places only must not be inside a firm.
        sites = [r for r in sites if not any(s <= r.start and r.end <= e for s, e in firms)]
        return [r for r in results if not _in_firm(text, r, firms)] + sites

    def _cued_places(self, text: str, ask: list[tuple[int, str]]) -> list[RecognizerResult]:
        """Places after a cue, capitalised, in capitals or in lower case."""
        results = []
        for cue in _CUE_WORD.finditer(text):
            match = _AFTER_CUE.match(text, cue.end())
            if match is None:
                continue
            strong = cue.group("strong") is not None
            decide = self._cued_place_words if strong else self._strict_place_words
            if match.group("lower"):
                results += self._lower_case_place_at(match, ask)
            elif match.group("upper"):  # "FLYING TO NEW YORK ON MONDAY"; "to AWS" in mixed case: only a known place
                shouted = cue.group().isupper()
                n = self._upper_place(match.group("upper"), decide if shouted else None)
                if n and (strong or shouted):
                    results.append(RecognizerResult("LOCATION", match.start(), match.start() + n, 0.6))
            else:
                results += self._capitalised_place_at(text, match, decide, strong, ask)
        return results

    def _capitalised_place_at(self, text: str, match: re.Match[str], decide: Callable[[list[str]], int], strong: bool,
                              ask: list[tuple[int, str]]) -> list[RecognizerResult]:  # fmt: skip
        start, words = match.start(), _words(match.group())
        if words[0].lower() in _NOT_FIRST:
            return []
        n = decide(words)
        if n:
            return [RecognizerResult("LOCATION", start, start + len(" ".join(words[:n])), 0.6)]
        if strong and self._trip_destination(text, start) and self._unseen(words[0]):
            ask.append((start, words[0]))  # "from Zweins to Meransen": the model decides
        return []

    def _upper_place(self, upper: str, decide: Callable[[list[str]], int] | None) -> int:
        """How many characters of an upper-case run name a place: a known one ("NEW YORK"), or one
        that `decide` takes title-cased ("MØLDRUP" as "Møldrup"); 0: none."""
        known = self._longest_known(re.split(r"(?<=[ -])", upper))
        if known or decide is None:
            return len(known)
        words = upper.title().split(" ")
        n = decide(words)
        return len(" ".join(words[:n]))

    def _strict_place_words(self, words: list[str]) -> int:
        """How many leading words name a place that needs no strong cue: a country, a known place
        or town with a word the model never saw, or a place-shaped phrase; 0: none."""
        for n in range(len(words), 0, -1):
            head = words[:n]
            if head[-1].lower() in _PARTICLE_WORDS or any(w.lower() in _COMPANY_WORDS or w.lower() in _NOT_FIRST for w in head):
                continue
            phrase = " ".join(head)
            if self._gaz.is_country(phrase) or self._place_shaped(phrase):
                return n
            if (self._gaz.is_place(phrase) or self._gaz.is_town(phrase)) and any(self._unseen(w) for w in head):
                return n
        return 0

    def _field_places(self, text: str, ask: list[tuple[int, str]]) -> list[RecognizerResult]:
        """Place fields: "delivery_city: Momostenango", "State/Province: Tirol", "city=Zdice status=ok";
        fields that may hold other things ("location:", "office:") and values in capitals need a place."""
        results: list[RecognizerResult] = []
        if ":" not in text and "=" not in text:
            return results
        lowered = text.lower()  # the scan below is slow; most texts hold no field name at all
        if not any(name in lowered for name in _FIELD_NAMES):
            return results
        for match in _PLACE_FIELD.finditer(text):
            weak = match.group("name").lower() in _WEAK_FIELDS
            if match.group("upper"):
                start, n = match.start("upper"), self._upper_place(match.group("upper"), self._strict_place_words)
            elif weak:
                start, words = match.start("place"), _words(match.group("place"))
                n = len(" ".join(words[: self._strict_place_words(words)]))
                if not n and all(self._unseen(w) and not self._gaz.is_name(w) for w in words):
                    ask.append((start, match.group("place")))  # "location: Rongonui": the model decides
            else:
                start, n = match.start("place"), len(match.group("place"))
            if n:
                results.append(RecognizerResult("LOCATION", start, start + n, 0.6))
        return results

    def _site_places(self, text: str) -> list[RecognizerResult]:
        """A place naming a site or a branch: "the Craggmouth office lease", "Our Apia warehouse"."""
        results = []
        for match in _SITE.finditer(text):
            words = _words(match.group("place"))
            skip = next((i for i, w in enumerate(words) if w.lower() not in _NOT_FIRST), len(words))
            rest = words[skip:]
            if rest and self._strict_place_words(rest) == len(rest):
                start = match.start("place") + len(" ".join(words[:skip])) + (1 if skip else 0)
                results.append(RecognizerResult("LOCATION", start, start + len(" ".join(rest)), 0.6))
        return results

    def _lower_case_place_at(self, match: re.Match[str], ask: list[tuple[int, str]]) -> list[RecognizerResult]:
        """A place in lower case after a cue: a known place no word of which is English ("heading
        to ocotal"), one or two words shaped like a place ("elinsjøen", "port dawn"); a known
        place of two or three words, some English ("restaurants in san marino"): the model decides."""
        words, start = _words(match.group()), match.start()
        if words[0] in _NOT_FIRST:
            return []
        n, sure = self._lower_case_place(words)
        if n and sure:
            return [RecognizerResult("LOCATION", start, start + len(" ".join(words[:n])), 0.6)]
        if n > 1:
            ask.append((start, " ".join(words[:n])))
        return []

    def _lower_case_place(self, words: list[str]) -> tuple[int, bool]:
        """(how many leading words name a place, whether that is sure without the model)."""
        for n in range(len(words), 0, -1):
            # Articles and particles are English-looking words of foreign names: "el hermel", "paso de los libres".
            content = [w for w in words[:n] if w not in _PARTICLE_WORDS and w not in _ARTICLES]
            phrase, unseen = " ".join(words[:n]), bool(content) and all(self._unseen(w) for w in content)
            if self._known(phrase) or unseen and self._gaz.is_town(phrase):
                return n, unseen
        for n in range(min(len(words), 2), 0, -1):
            if words[n - 1] not in _NOT_FIRST and self._place_shaped(_title(" ".join(words[:n]))):
                return n, True
        return 0, False

    def _may_hold_upper_place(self, text: str) -> bool:
        """A word in capitals the model never saw ("BHIWADI"; "JSON" and "ERROR" it saw), or two in a row."""
        words = _UPPER_WORD.findall(text)
        return bool(words) and (any(w.lower() not in self._seen for w in set(words)) or _UPPER_PAIR.search(text) is not None)

    def _lower_case_known(self, text: str) -> list[RecognizerResult]:
        """Known places of 5,000 people or more in lower case, no word of which the model saw
        and none a known name ("bhiwadi has new rules", "greetings from ocotal"), in English text."""
        unseen = set(_LOWER_WORD.findall(text)).difference(self._seen)  # cheap: most texts have none left after this
        firsts = {w for w in unseen if self._known(w) and not self._gaz.is_name(w)}  # "bhiwadi", "ocotal", "paso"
        if not firsts or not self._english(text):
            return []
        results: list[RecognizerResult] = []
        for match in _LOWER_WORD.finditer(text):
            if match.group() not in firsts:
                continue
            if results and match.start() < results[-1].end:
                continue
            words, at = [match.group()], match.end()
            while len(words) < 4 and (after := _LOWER_NEXT.match(text, at)):
                words.append(after.group(1))
                at = after.end()
            for n in range(len(words), 0, -1):
                phrase = " ".join(words[:n])
                if self._known(phrase) and all(self._unseen(w) and not self._gaz.is_name(w) for w in words[1:n] if w not in _PARTICLE_WORDS):
                    results.append(RecognizerResult("LOCATION", match.start(), match.start() + len(phrase), 0.5))
                    break
        return results

    def _english(self, text: str) -> bool:
        """Whether the text's lower-case words read as English: three or more the model knows,
        and at most one in four unknown to it ("auch", "marche" would be places in German or French prose)."""
        words = _LOWER_ENGLISH.findall(text)
        unseen = sum(1 for w in words if w not in self._seen)
        return len(words) - unseen >= 3 and unseen * 4 <= len(words)

    def _before_countries(self, text: str, countries: Sequence[RecognizerResult]) -> list[RecognizerResult]:
        """A town written before its country: "Mariasund, Sweden", "Moirano, Italy"."""
        results = []
        for country in countries:
            match = _BEFORE_COUNTRY.search(text, max(0, country.start - 80), country.start)
            if match is None:
                continue
            words = _words(match.group("place"))
            if words[0].lower() in _NOT_FIRST or self._gaz.is_first(words[0]) and not self._known(match.group("place")):
                continue
            if self._cued_place_words(words) == len(words) or all(self._unseen(w) for w in words):
                results.append(RecognizerResult("LOCATION", match.start("place"), match.end("place"), 0.6))
        return results

    def _listed_with(self, text: str, ends: Iterable[int]) -> list[RecognizerResult]:
        """More places in the list of a place ending at one of `ends`: "toured Zdice and
        Kokkedal", "in Riga, Tartu"; a word the model never saw and no name counts there too."""
        results = []
        for end in sorted(set(ends)):
            match = _AND_NEXT.match(text, end)
            while match is not None:
                words = _words(match.group("place"))
                n = self._strict_place_words(words)
                if not n and all(self._unseen(w) and not self._gaz.is_name(w) for w in words):
                    n = len(words)
                if not n or words[0].lower() in _NOT_FIRST:
                    break
                start = match.start("place")
                results.append(RecognizerResult("LOCATION", start, start + len(" ".join(words[:n])), 0.6))
                match = _AND_NEXT.match(text, start + len(" ".join(words[:n])))
        return results

    def _known(self, place: str) -> bool:
        return self._gaz.is_place(place) or self._gaz.is_country(place)

    def _longest_known(self, parts: Sequence[str]) -> str:
        """The longest known place that the parts ("NEW ", "YORK ", "ON ") start with; "" if none."""
        for n in range(len(parts), 0, -1):
            place = "".join(parts[:n]).rstrip(" -")
            if self._known(place):
                return place
        return ""

    def _unseen_places(self, text: str, runs: re.Pattern[str] = _KNOWN_RUN) -> list[RecognizerResult]:
        """Known places (5,000 people or more) none of whose words the model's vocabulary has,
        wherever they are: "Our Kisumu team", "Warri", "SHIPPING HUB: BHIWADI" (with `_UPPER_KNOWN_RUN`).
        English words and names are seen ("NICE", "ERROR")."""
        results = []
        for match in runs.finditer(text):
            words = _words(match.group())
            offsets = [match.start() + len(" ".join(words[:i])) + (1 if i else 0) for i in range(len(words))]
            i = 0
            while i < len(words):
                n = self._unseen_place_at(words, i)
                if n:
                    results.append(RecognizerResult("LOCATION", offsets[i], offsets[i] + len(" ".join(words[i : i + n])), 0.5))
                i += max(n, 1)
        return results

    def _unseen_place_at(self, words: Sequence[str], i: int) -> int:
        """How many words from `i` name a known place that needs no cue: no word of it the model
        saw ("Kisumu"), or two words or more, none a common or company word and not a first and
        a last name ("Deception Bay", "MELTON MOWBRAY"); 0: none."""
        for n in range(len(words) - i, 0, -1):
            head = words[i : i + n]
            if head[0].lower() in _PARTICLE_WORDS or head[-1].lower() in _PARTICLE_WORDS:
                continue
            content = [w for w in head if w.lower() not in _PARTICLE_WORDS]
            if all(self._unseen(w) for w in content):
                if self._known(" ".join(head)):
                    return n
            elif len(content) > 1 and not any(w.lower() in _NOT_FIRST or w.lower() in _COMPANY_WORDS for w in content):
                # "Harold Wood" is a London district and a person's name
                if self._known(" ".join(head)) and not self._both_known(content):
                    return n
        return 0

    def _trip_destination(self, text: str, start: int) -> bool:
        """Whether `start` follows "from <a place> to" ("flying from Kitee to ...")."""
        trip = _TRIP_BEFORE.search(text, max(0, start - 80), start)
        return trip is not None and self._cued_place_words(_words(trip.group("origin"))) > 0

    def _cued_place_words(self, words: list[str]) -> int:
        """How many leading words of a capitalised run after a place cue name a place; 0: none.
        The longest known or place-shaped run wins: "Oberndorf bei Salzburg", "Kitee"."""
        for n in range(len(words), 0, -1):
            if words[n - 1].lower() in _PARTICLE_WORDS:
                continue
            candidate = " ".join(words[:n])
            if any(w.lower() in _COMPANY_WORDS for w in words[:n]):
                continue  # "Paschoud-sur-Cosendey Country Club": the venue is no place name
            if self._gaz.is_place(candidate) or self._gaz.is_country(candidate) or self._place_shaped(candidate):
                return n
            if self._gaz.is_town(candidate) and all(self._unseen(w) for w in words[:n]):
                return n  # small towns only when no word of them is English ("written in Rust")
        return 0

    def _place_shaped(self, phrase: str) -> bool:
        """A place by its shape: a town ending on a word the model never saw ("Taylorfort"),
        a particle inside ("Plan-les-Ouates"), a saint or direction before a name ("South Kevin")."""
        last = re.split(r"[ -]", phrase)[-1]
        if _TOWN.fullmatch(phrase):
            return self._unseen(last)
        if _PARTICLE_INSIDE.fullmatch(phrase):
            return True
        if _PLACE_PREFIX.fullmatch(phrase) is None:
            return False
        if _ARTICLE_FIRST.match(phrase):  # "De Cocksdorp", "Le Kram"; "De Vries" is a surname
            return self._unseen(last) and not self._gaz.is_name(last)
        return self._unseen(last) or self._gaz.is_first(last)

    def _model_says_place(self, places: Sequence[str]) -> list[bool]:
        if not places:
            return []
        # The probes (one pipe per batch, cached): this class holds no pipeline of its own.
        answers = self._probes.entities_many([f"{_PLACE_PREFIX_SENTENCE}{place}." for place in places])
        start = len(_PLACE_PREFIX_SENTENCE)
        return [any(label in ("GPE", "LOC") and s <= start < e for s, e, label in found) for found in answers]

    def _countries(self, text: str) -> list[RecognizerResult]:
        """Countries, US states, Canadian and Australian provinces written capitalised anywhere,
        or in capitals: "Bosnia and Herzegovina", "Trinidad and Tobago", "GERMANY" on its own line."""
        results = []
        for match in _COUNTRY_RUN.finditer(text):
            words = [(m.group(), m.start()) for m in _RUN_WORD.finditer(match.group())]
            base, i = match.start(), 0
            while i < len(words):
                n = next((n for n in range(min(len(words) - i, 6), 0, -1) if self._country_at(words, i, n)), 0)
                if n:
                    first, last = words[i], words[i + n - 1]
                    results.append(RecognizerResult("LOCATION", base + first[1], base + last[1] + len(last[0]), 0.6))
                i += max(n, 1)
        return results

    def _country_at(self, words: Sequence[tuple[str, int]], i: int, n: int) -> bool:
        chunk = words[i : i + n]
        if chunk[0][0].lower() in _CONNECTOR_WORDS or chunk[-1][0].lower() in _CONNECTOR_WORDS:
            return False
        return self._gaz.is_country(" ".join(w for w, _ in chunk))
