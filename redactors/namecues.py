"""Names found by the structure around them, where the small model sees nothing or an ORG.

Each cue is a shape of text that holds people's names, and each word it proposes must still read
as a name: a known first or last name (``redactors.gazetteer``) or a word the model's shipped
vocabulary does not have ("Barışcan"), and no common, role or company word. The cues:

- **speaker labels**: lines that start "Name: Speech" ("Indira: What a wife.", also after "> "
  quote marks and escaped line breaks), the speech opening with a capital or a quote (log lines,
  "Redis: connection refused", do not). Two or more labels that read as names, at least one a
  known name, make a dialogue, and each of them is a name; a lone label counts when its speech
  is quoted or the label is a known first name the model has never seen. Role labels ("User:",
  "Assistant:", "Note:", "Subject:") are no names.
- **pairs of names**: two or three capitalised words, a known first name then a known last name,
  one of them unseen by the model ("a Sonja Thygesen concert", "Julia Connor again."), not
  introduced as a firm ("at", "joined") nor followed by a company word.
- **lists next to a name**: in "Lelièvre and Watkins" or "Smet, Dūmiņa and Kölbl" where the model
  tagged one item PERSON, the other items that read as names are names too (not in a firm's
  name: "at Lee, Perkins and Finch").
- **possessives**: "Fabian's address", "Birger's daughter": a name before a personal noun.
- **a name as the subject of a person's verb** at the start of a sentence or clause: "Gandi
  lives on ...", "Guy spent a year ...", "Fanaka will send the deck".
- **credits**: "starring Pakosz", "directed by ...", "founded by ...".
- **objects of a person's verb**: "Reach Ana Lucia Costa", "Mail Tom Baker" (a full name after
  "reach", "call", "mail", "hi" ...).
- **address and sign-off**: a common first name (``Gazetteer.is_common_first``) addressed after a
  comma at a sentence's end ("Thanks for your patience, Isabel."), alone after the last sentence
  of a message ("Appreciate the help. Sofia"), or introducing its speaker ("Isabel Mahoney here.").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Sequence

from presidio_analyzer import RecognizerResult

from redactors import regexcache
from redactors.addresses import street_lines
from redactors.cues import first_letters
from redactors.gazetteer import Gazetteer
from redactors.letters import LOWER, UPPER

# A capitalised word, "O'Brien" and "McCall" shapes included.
_CAP = rf"(?:Ma?c|[{UPPER}]['’])?[{UPPER}][{LOWER}'’]+(?:-[{UPPER}][{LOWER}'’]+)?"  # never "KeyError"
_LINE_START = r"(?:^|(?<=\n)|(?<=\\n)|(?<=\\r))"
_SPEAKER = regexcache.compile(
    rf"{_LINE_START}[ \t]*(?:[>|][ \t]*)*(?P<label>{_CAP}(?:[ ]{_CAP})?)[ \t]*:(?!//)[ \t]*(?P<speech>[\"“'{UPPER}])", re.M
)
# A screenplay's speaker labels in capitals: "HUGO: Get down!", "MARY ANN: Now?".
_CAPS_SPEAKER = regexcache.compile(rf"{_LINE_START}[ \t]*(?P<label>[{UPPER}]{{2,}}(?:[ ][{UPPER}]{{2,}})?)[ \t]*:[ \t]+[\"“'{UPPER}]", re.M)
_ROLES = frozenset(
    """user assistant system agent human ai bot customer client caller operator host guest support admin
    interviewer moderator narrator speaker note notes warning error info summary subject date from to cc
    bcc re fwd status step question answer reply response input output result example tip hint update
    action title description details reason cause solution location address phone email name time
    author owner reviewer assignee reporter priority severity type category tags label source target
    directed written produced cast genre runtime rating release todo fixme hack xxx bug fix ps nb""".split()
)
# Words of job titles, which a letter head's line may hold below the name ("Senior Buyer").
_JOB_WORDS = frozenset(
    """senior junior chief head lead principal deputy manager director officer engineer developer analyst
    consultant assistant specialist coordinator administrator buyer surveyor architect designer accountant
    advisor adviser associate executive president supervisor technician scientist editor clerk representative
    intern secretary treasurer controller planner recruiter strategist""".split()
)
# Assistants, languages and products named like people: a cue's common first name is none of them.
NAMED_PRODUCTS = frozenset("claude gemini alexa siri cortana bard grok copilot llama mistral julia ruby ada hugo jasper sage mercedes".split())
# Months that are first names too: before a surname the model never saw, a person's name.
_MONTH_FIRST_NAMES = frozenset({"april", "may", "june", "august"})
_PAIR = regexcache.compile(rf"(?<![\w'’-]){_CAP}(?:[ ]{_CAP}){{1,2}}(?![\w-])")
_FIRM_BEFORE = regexcache.compile(r"(?i:\b(?:at|join(?:ed|ing)?|left|founded|became|for|work(?:s|ed)? for|vendor|client|partner)[ ]+)$")
_COMPANY_AFTER = regexcache.compile(r"[ ]+(?i:llc|inc|ltd|plc|corp|group|gmbh|& co|and sons|company)\b")
# A list item is one or two capitalised words ("Thierry, Thiago Lionel and René"), after name
# particles in lower case too ("Kurzyna, Peukert and da Rocha").
_LOWER_PARTICLES = r"van|von|de|der|den|del|della|di|da|du|dos|das|ter|zu|le|die|het|'t"
_ITEM = rf"(?:(?:{_LOWER_PARTICLES})[ ])*{_CAP}(?:[ ]{_CAP})?"
# A name that starts with its particles: "van Dongen", "da Rocha", "van der Berg".
LOWER_PARTICLE_NAME = regexcache.compile(rf"(?:(?:{_LOWER_PARTICLES})[ ])+{_CAP}")
_LIST = regexcache.compile(rf"(?<![\w-]){_ITEM}(?:,[ ]{_ITEM})*,?[ ](?:and|&|or)[ ]{_ITEM}(?![\w-])|(?<![\w-]){_ITEM}(?:,[ ]{_ITEM}){{2,}}(?![\w-])")
# A colon's list with items in lower case among capitalised ones: "founders: Molesini, volk and Świerszcz".
_LOWER_ITEM = rf"[{LOWER}][{LOWER}'’-]{{2,}}"
_ANY_ITEM = rf"(?:{_ITEM}|{_LOWER_ITEM})"
_MIXED_LIST = regexcache.compile(rf"(?<![\w-]){_ANY_ITEM}(?:,[ ]{_ANY_ITEM})+,?[ ](?:and|&)[ ]{_ANY_ITEM}(?![\w-])")
_LOWER_ITEM_WORD = regexcache.compile(rf"(?<![\w'’-]){_LOWER_ITEM}(?![\w'’-])")
# After a list, words that make its items people: "Llobet and Siqueira were precision engineers".
_LIST_PEOPLE_AFTER = regexcache.compile(r"[ ](?:were|are|both|have both|have been|had been)[ ]")
_LIST_FIRM_BEFORE = regexcache.compile(r"(?i:\b(?:at|of|from|the|by|for|with|join(?:ed)?|left|founded|became)[ ]+)$")
_PERSONAL = (
    r"address|phone|number|mobile|email|e-mail|wife|husband|daughter|son|mother|father|mom|dad|mum|brother|sister|"
    r"family|children|kids|parents|partner|girlfriend|boyfriend|fiancée?|birthday|home|house|flat|apartment|"
    r"account|passport|car|dog|cat|friend|boss|manager|doctor|lawyer|room|desk|office|condition|diagnosis"
)
_POSSESSIVE = regexcache.compile(rf"(?<![\w-])(?P<name>{_CAP})['’]s[ ]+(?:new[ ]+|old[ ]+|home[ ]+|current[ ]+)?(?:{_PERSONAL})\b")
# What may stand before a clause's first word: nothing, a line break (real or escaped), a quote,
# or punctuation and a space ("Meeting notes: Fanaka will ..."), an opening quote or bracket.
_CLAUSE_ENDS = ("\n", "\\n", '"', ". ", "! ", "? ", ": ", "; ", ", ", " '", " ‘", " “", "(")
_PERSON_VERBS = (
    r"lives|lived|said|says|told|asked|spent|wrote|was born|married|owns|thinks|feels|wants|will send|emailed|"
    r"called|replied|answered|works|worked|studied|grew up|moved|joined|left|visited|agreed|promised|signed|is from|"
    r"leads|manages|heads|oversees|scored|testified|pleaded"
)
# Verbs that things do too ("Deployment began"): their subject must be a known name.
_OTHER_VERBS = (
    r"began|started|became|published|played|sang|recorded|died|met|taught|graduated|retired|speaks|spoke|"
    r"arrived|resigned|applied|paid|bought|ordered|complained|mentioned|confirmed|explained|decided|admitted|runs|"
    r"won|competed"
)
_SUBJECT = regexcache.compile(rf"(?<![\w'’-])(?P<name>{_CAP})[ ](?=(?P<verb>{_PERSON_VERBS}|{_OTHER_VERBS})\b)")
# Two names as the subject of a verb only people do: "Caleb Greer lives at ...".
_PAIR_SUBJECT = regexcache.compile(rf"(?<![\w'’-])(?P<first>{_CAP})[ ](?P<last>{_CAP})[ ](?=(?P<verb>{_PERSON_VERBS})\b)")
# A quote's speaker, and a name given: "says Crystal Nguyen", "was called Amber Stone".
_SPEAKER_OR_CALLED = regexcache.compile(
    rf"\b(?:says|said|adds|added|asks|asked|writes|wrote|recalls|recalled|explains|explained|(?:is|was|were|am|be|been)[ ](?:called|named))[ ]"
    rf"(?P<name>{_CAP}(?:[ ]{_CAP}){{0,2}})(?![\w'’-])"
)
# A personal pronoun that takes up a sentence's subject.
_PRONOUN_AFTER = regexcache.compile(r"\b(?:she|he|her|his|him|herself|himself)\b")
_SENTENCE_END = regexcache.compile(r"[.!?](?:\s|$)|\n")
_HUMAN_VERB = regexcache.compile(rf"(?:{_PERSON_VERBS})\Z")
# Verbs only people do: any known name may be their subject ("Reginald lives on ...").
_ONLY_PEOPLE = regexcache.compile(
    r"(?:lives|lived|said|says|told|spent|wrote|was born|married|thinks|feels|grew up|studied|replied|answered|emailed|promised|agreed|is from)\Z"
)
# "The Lindfors family", "the Okafor twins": a surname before a family word.
_FAMILY = regexcache.compile(
    rf"(?i:\bthe[ ])(?P<name>{_CAP})[ ](?=(?:family|families|household|twins|brothers|sisters|siblings|residence|estate)\b)"
)
# "Štšerbakov, Irina": a surname, a comma, then a common first name, as on a list or a form.
_INVERTED = regexcache.compile(rf"(?<![\w'’,-])(?P<last>{_CAP}),[ ](?P<first>{_CAP})(?![\w-])(?![ ]*,?[ ]*(?:and|&)[ ])")
# A former member before a name: "ex-Beatle Ringo", "by ex-Zombie Akgündüz".
_FORMER = regexcache.compile(rf"(?<![\w-])ex-{_CAP}[ ](?P<name>(?:(?:{_LOWER_PARTICLES})[ ]){{0,2}}{_CAP}(?:[ ]{_CAP})?)(?![\w-])")
_CREDIT = regexcache.compile(
    rf"(?i:\b(?:starring|featuring|feat\.|co-starring|directed by|written by|produced by|composed by|performed by|founded by|"
    rf"hosted by|narrated by|illustrated by|translated by)(?:[ \t]*:)?[ \t]+)(?P<name>{_CAP}(?:[ ]{_CAP}){{0,2}})(?![\w-])"
)


# Verbs and greetings whose object is a person ("Reach Ana Lucia Costa", "Mail Tom Baker"):
# the capitalised words after them are the name, and the verb is none (redactors/pii.py trims it).
OBJECT_VERBS = frozenset(
    """contact email e-mail mail call phone text message ping reach ask tell meet invite thank
    remind notify cc bcc greet welcome introduce congratulate hi hello hey dear""".split()
)
# Roles and titles that stand before a name and are none of it ("Caller Manon Jacob", "Mr Dean",
# "CEO Leah Brown"): redactors/pii.py trims them off the model's names.
ROLE_WORDS = frozenset(
    """caller customer client patient passenger applicant candidate tenant guest user agent driver
    colleague manager engineer director ceo cto cfo coo founder president chair chairman chairwoman
    professor nurse officer captain coach judge minister spokesperson spokesman spokeswoman
    owner author reporter editor reviewer assignee witness attendee speaker host mayor governor
    councillor councilor senator ambassador mr mrs ms mx miss
    dr prof sir""".split()
)
_NOT_AFTER_A_WORD = r"(?<![\w'’-])"
_OBJECT = regexcache.compile(
    rf"(?i:{first_letters('|'.join(sorted(OBJECT_VERBS, key=lambda verb: (-len(verb), verb))), then=_NOT_AFTER_A_WORD)})[ ]+(?P<name>{_CAP}(?:[ ]{_CAP}){{1,2}})(?![\w'’-])"
)
# A full name before the role a person is given: "add Sifa Kiptoo as guardian".
_AS_ROLE = regexcache.compile(
    rf"(?<![\w'’-])(?P<name>{_CAP}[ ]{_CAP})[ ]as[ ](?:(?:a|an|the|my|our|his|her|their)[ ])?(?:legal[ ]|emergency[ ]|primary[ ]|secondary[ ])?"
    rf"(?:guardian|beneficiary|trustee|executor|co-?signer|contact|next[ ]of[ ]kin|witness|dependa?ent|nominee|"
    rf"spouse|parent|authori[sz]ed[ ]user|account[ ]holder|cardholder|reference|referee)\b"
)
# A booking or an account held under a name: "Maybe it's under Jessica Comment".
_UNDER = regexcache.compile(
    rf"(?i:\b(?:it's|it is|it was|booked|reserved|registered|listed|filed|booking is|account is|reservation is)[ ]under[ ])(?P<first>{_CAP})[ ](?P<last>{_CAP})(?![\w'’-])"
)
# A first name addressed after an object pronoun, before a comma: "leave me Adrian, four hungry children".
_OBJECT_VOCATIVE = regexcache.compile(rf"(?<![\w'’-])(?:me|you|us)[ ](?P<name>{_CAP}),")
_VOCATIVE = regexcache.compile(rf",[ ]+(?P<name>{_CAP})(?=[ ]?[.!?]|[ ]*$)", re.M)
# A mention: "@ikenna can you review", "@maria.lopez thanks" (not "@app.route(", "@patch(", "a@b.c").
_MENTION = regexcache.compile(rf"(?<![\w@.])@(?P<handle>[{UPPER}{LOWER}]+(?:[._-][{UPPER}{LOWER}]+)?)(?=[ \t]|[,:;!?][ \t\n]|[,:;!?]?$)", re.M)
# A request to the one mentioned: "@wriddhish can you ...", "@fərhad, please ...".
_REQUEST_AFTER = regexcache.compile(r"[ ,:]+(?:(?:can|could|would|will)[ ]you|please|pls|thanks|thank[ ]you)\b", re.I)
# Mentions of a group, not of a person (Slack's and GitHub's): names in the gazetteer too.
_GROUP_HANDLES = frozenset("here channel everyone all team dev devs ops admin admins oncall".split())
# Addressed at a clause's start: "'Igor, the report is late again.'", "Aisha, can you check?".
_OPENING_VOCATIVE = regexcache.compile(rf"(?<![\w-])(?P<name>{_CAP}),[ ]+(?=[{LOWER}])")
_SIGN_OFF = regexcache.compile(rf"(?:(?<=[.!?])[ \t]+|\n[ \t]*(?:[-–—~][ \t]*)?|[ \t]+[-–—~][ \t]+)(?P<name>{_CAP}(?:[ ]{_CAP})?)[ \t]*[.!]?\s*\Z")
_HERE = regexcache.compile(rf"(?<![\w'’-])(?P<name>{_CAP}(?:[ ]{_CAP})?)[ ]here\b(?=[ ]*[.,!:;—–-])")
_KIN = (
    r"kid|kids|child|children|son|daughter|grandson|granddaughter|grandmother|grandfather|grandma|grandpa|"
    r"cousin|uncle|aunt|nephew|niece|fiancée?|boyfriend|girlfriend|stepson|stepdaughter|baby|twin|spouse|"
    r"partner|wife|husband|mother|father|mom|mum|dad|brother|sister|friend|neighbou?r|roommate|colleague"
)
# People before that colon: "our 3 founders:", "The panel:", "Attendees:".
_PEOPLE_BEFORE_COLON = regexcache.compile(
    rf"(?i:\b(?:founders|co-founders|partners|members|attendees|participants|speakers|panel|panelists|guests|authors|"
    rf"winners|owners|hosts|players|students|employees|staff|volunteers|{_KIN}|kids|children|siblings|friends|cousins|sons|daughters))[ ]*:[ ]*\Z"
)
_RELATIVE = regexcache.compile(
    rf"(?i:\b(?:(?:my|his|her|our|their|your)[ ](?:little[ ]|older[ ]|younger[ ]|eldest[ ]|youngest[ ])?(?:{_KIN})"
    rf"(?:['’]s[ ]name(?:[ ]is)?)?,?|(?:everyone|everybody|they|people|friends)[ ]calls?[ ](?:me|him|her))[ ])"
    rf"(?P<name>{_CAP}(?:[ ]{_CAP}){{0,2}})(?![\w-])"
)
# A relative's name in lower case: "what should i get my sister johan".
_LOWER_RELATIVE = regexcache.compile(rf"(?i:\b(?:my|his|her|our|their|your)[ ](?:{_KIN})[ ])(?P<name>[{LOWER}][{LOWER}'’-]{{2,}})(?![\w'’-])")
_UPPER_RUN = regexcache.compile(rf"[{UPPER}]{{3}}")
# A surname in capitals, then a given name, as on a ticket or a boarding pass: "Passenger GATTO Marcelle".
_CAPS_SURNAME_FIRST = regexcache.compile(rf"(?<![\w'’-])(?P<last>[{UPPER}]{{3,}})[ ](?P<first>{_CAP})(?![\w'’-])")
# Cheap tests first: a word a relative or a nickname needs, a street line anywhere.
_RELATIVE_HINTS = ("my ", "his ", "her ", "our ", "their ", "your ", "calls ", "call ")
_STREET_ANYWHERE = regexcache.compile(rf"(?:^|\n|\\n)[ \t>|]*\d{{1,6}}[A-Za-z]?[ ][{UPPER}]")
# A European street line: words, then the house number ending the line ("Matthiaslaan 1").
_NUMBER_LAST_ANYWHERE = regexcache.compile(rf"(?:^|\n|\\n)[ \t>|]*[{UPPER}][\w.'’ -]{{2,40}}[ ]\d{{1,5}}[A-Za-z]?[ \t]*(?:,|\n|\\n|$)")
# Address blocks: a line (after "> " quote marks), a street line (a house number then a
# capitalised word), a line that is one to three capitalised words.
_LINE = regexcache.compile(r"(?m)^[ \t]*(?:[>|][ \t]*)*(?P<body>[^\n]*?)[ \t]*$")
_STREET_LINE = regexcache.compile(rf"\d{{1,6}}[A-Za-z]?[ ]{_CAP}")
# A head's words may have a lower-case part after a hyphen ("Ta-tanisha John"), and a label may
# open the line ("Billing address: Ta-tanisha Otieno").
_HEAD_WORD = rf"(?:Ma?c|[{UPPER}]['’])?[{UPPER}][{LOWER}'’]+(?:-[{UPPER}{LOWER}][{LOWER}'’]+)?"
_HEAD_LINE = regexcache.compile(rf"(?:[{UPPER}][{LOWER}]+(?:[ ][{LOWER}]+)?:[ ]+)?(?P<name>{_HEAD_WORD}(?:[ ]{_HEAD_WORD}){{0,2}})")
# Name particles: "Maya van der Lede", "Ninthe van der Stael de Jonge", "Milan Van Roy".
# Irish: "Brid Ó Fuaruisce", "Nóra Ní Bhriain", "Ronan Mac Conaonaigh".
_NAME_PARTICLES = r"van|von|de|der|den|del|della|di|da|du|dos|das|do|la|le|ten|ter|te|het|'t|zu|af|av|bin|ibn|al|el|die|ó|ní|nic|mac|mhic|uí|ua"
_PARTICLE_WORDS = frozenset(_NAME_PARTICLES.split("|"))
_PARTICLE_TAIL = regexcache.compile(rf"(?:(?:[ -](?i:{_NAME_PARTICLES}))+[ ]{_CAP})+(?![\w-])")
_PARTICLE_HEAD = regexcache.compile(rf"(?i:{_NAME_PARTICLES})[ ]")
# A first name, particles, a surname: "Marina De Backer", "Luca di Stefano" (no particle that is an English word).
_INNER_PARTICLES = r"van|von|de|der|den|del|della|di|da|du|dos|das|ten|ter|het|zu|bin|ibn|die"
_PARTICLE_HINT = regexcache.compile(rf"[ ](?i:{_INNER_PARTICLES})[ ]")
_PARTICLE_PAIR = regexcache.compile(rf"(?<![\w'’-])(?P<first>{_CAP})(?:[ ](?i:{_INNER_PARTICLES})){{1,2}}[ ](?P<last>{_CAP})(?![\w-])")
# Lower-case particles just before a name: "founders: van Oostendorp", "starring van Dongen".
# Irish ones are capitalised: "Sean Mac Páidín", "Dr Ó Corlaigh".
_PARTICLES_BEFORE = regexcache.compile(rf"(?<![\w'’-])(?:(?:{_LOWER_PARTICLES}|Mac|Ó|Ní|Nic|Mhic|Uí|Ua)[ ])+$")
_NEXT_LOWER = regexcache.compile(rf"[ ](?P<word>[{LOWER}]{{4,}}|(?=[{LOWER}]*[^\x00-\x7f])[{LOWER}]{{3}})(?![\w'’-])")
_NEXT_CAP = regexcache.compile(rf"[ ](?P<word>{_CAP})(?![\w-])")
_WORD_BEFORE = regexcache.compile(rf"(?<![\w'’-])(?P<word>{_CAP})[ ]$")
# A list item's start: "- ", "* ", "• ", "1. ", "2) " at the start of a line (real or escaped).
_BULLET_BEFORE = regexcache.compile(r"(?:^|\n|\\n)[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+$")
# A list item that is a whole line: "2. Ise van Leeuwen", "* Baptiste Gomis".
_BULLET_ITEM = regexcache.compile(
    rf"(?:^|(?<=\n))[ \t]*(?:[-*•]|\d{{1,2}}[.)])[ \t]+(?P<item>{_CAP}(?:[ ](?:(?i:{_NAME_PARTICLES})[ ])*{_CAP}){{0,2}})[ \t]*(?=\n|$)"
)
_BULLET = regexcache.compile(r"(?:^|(?<=\n)|(?<=\\n))[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+")
# An action item: "- Jill to draft the RFC", "* Aadhya will book the room".
_ASSIGNEE = regexcache.compile(rf"(?P<name>{_CAP})[ ](?:to|will|should|must|can)[ ][{LOWER}]{{2,}}")
_SIGN_OFF_TAIL = 60  # characters at the end of a text where a sign-off may stand
_INFLECTIONS = ("s", "es", "ed", "d", "ing", "ies", "ied")
# "by" and a full name: a common first name, then a surname that is no English word.
_BY_PAIR = regexcache.compile(rf"\bby[ ](?P<first>{_CAP})[ ](?P<last>{_CAP})(?![\w'’-])(?![ ]{_CAP})")
_CREDIT_WORDS = (" by ", " by:", " By", "tarring", "eaturing", "feat.")


def _sentence_rest(text: str, at: int) -> str:
    """The text from `at` to the end of its sentence (at most 200 characters)."""
    end = _SENTENCE_END.search(text, at, at + 200)
    return text[at : end.start() if end else at + 200]


def after_colon(text: str, at: int) -> bool:
    """Whether a colon (and a space) stands right before `at`, or before the name particles that
    open the item there ("founders: da Rosa, Dobre and Roberts")."""
    lead = _PARTICLES_BEFORE.search(text, max(0, at - 16), at)
    opening = lead.start() if lead is not None else at
    return text[max(0, opening - 2) : opening].strip().endswith(":")


def _clause_start(text: str, at: int) -> bool:
    return at == 0 or text.endswith(_CLAUSE_ENDS, 0, at) or _BULLET_BEFORE.search(text, max(0, at - 12), at) is not None


class NameCues:
    """PERSON findings from speaker labels, name pairs, lists, possessives, subjects and credits."""

    def __init__(
        self, gazetteer: Gazetteer, seen: frozenset[str], common: Callable[[str], bool], english: Container[str]
    ) -> None:
        self._gaz = gazetteer
        self._seen = seen
        self._common = common  # stop, role-less common and company words ("The", "Bank", "Thanks")
        self._english = english  # English dictionary words in lower case ("senior", "buyer")

    def analyze(
        self, text: str, model_spans: Sequence[tuple[int, int, str]], found: Sequence[tuple[int, int]] = ()
    ) -> list[RecognizerResult]:
        """`found`: names the other rules found, whose lists' other items are names too."""
        speakers = self._speakers(text)
        if ":" in text:
            speakers += self._caps_speakers(text)
        spans = [*speakers, *self._pairs(text), *self._possessives(text), *self._subjects(text), *self._credits(text)]
        spans += self._pair_subjects(text) + self._speakers_and_called(text)
        if _PARTICLE_HINT.search(text):
            spans += self._particle_pairs(text)
        spans += self._addressed(text, dialogue=len(speakers) >= 2)
        spans += self._families_and_inverted(text)
        spans += self._objects(text) + self._given_and_held(text)
        if _UPPER_RUN.search(text):
            spans += self._caps_surnames_first(text)
        if "\n" in text or "\\n" in text:
            spans += self._assignees(text)
        if "@" in text:
            spans += self._mentions(text)
        lower = text.lower()
        if any(word in lower for word in _RELATIVE_HINTS):
            spans += self._relatives(text)
        if ("\n" in text or "\\n" in text) and (_STREET_ANYWHERE.search(text) or _NUMBER_LAST_ANYWHERE.search(text)):
            spans += self._letter_heads(text)
        person = [(s, e) for s, e, label in model_spans if label in ("PERSON", "PER")]
        spans += self._lists(text, [*person, *found])
        if person and "\n" in text:
            spans += self._bullet_items(text, person)
        return [RecognizerResult("PERSON", s, e, 0.6) for s, e in spans]

    def grow(self, text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """Names grown over what the span left out: particles and the words after them ("Maya
        van" -> "Maya van der Lede"), a surname the model did not read ("Antoņina" -> "Antoņina
        Apine"), a surname in lower case ("Albert žagar"), particles in lower case before it ("Oostendorp" -> "van Oostendorp") and a first
        name before a particle ("Van Roy" -> "Milan Van Roy")."""
        grown = []
        for start, end in spans:
            new_start, new_end = start, end
            tail = _PARTICLE_TAIL.match(text, end)
            if tail:
                new_end = tail.end()
            elif (after := _NEXT_CAP.match(text, end)) and self._surname_after(text, after):
                new_end = after.end()
            elif text[start].isupper() and (after := _NEXT_LOWER.match(text, end)) and self._lower_surname(after.group("word")):
                new_end = after.end()  # "Albert žagar": a surname written in lower case
            if head := _PARTICLES_BEFORE.search(text, max(0, start - 24), start):
                new_start = head.start()  # "van Oostendorp": the particles are the name's
            elif " " not in text[start:end] and (before := _WORD_BEFORE.search(text, max(0, start - 40), start)):
                word = before.group("word")  # "the assistant to Alcan Çamurcuoğlu": a first name before the surname
                if self._gaz.is_first(word) and self._name_like(word) and word.lower() not in OBJECT_VERBS and word.lower() not in ROLE_WORDS:
                    new_start = before.start("word")
            if _PARTICLE_HEAD.match(text, new_start) and (before := _WORD_BEFORE.search(text, max(0, new_start - 40), new_start)):
                if self._gaz.is_first(before.group("word")) and self._name_like(before.group("word")):
                    new_start = before.start("word")
            if (new_start, new_end) != (start, end):
                grown.append((new_start, new_end))
        return grown

    def particle_surnames(self, text: str, places: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """Spans the model read as places right after name particles in lower case that follow
        no capitalised word ("starring van Dongen", "and da Rocha"; not "Rio de Janeiro"): a
        surname with its particles."""
        found = []
        for start, end in places:
            head = _PARTICLES_BEFORE.search(text, max(0, start - 24), start)
            if head and not _WORD_BEFORE.search(text, max(0, head.start() - 40), head.start()):
                found.append((head.start(), end))
        return found

    def _lower_surname(self, word: str) -> bool:
        """A word in lower case after a name, no known place: one the model never saw that is a known
        last name or has letters English has none of ("žagar", "ribič"), or a known last name that
        is no English and no common word ("volk"; "said", "smith" are English)."""
        if self._gaz.is_place(word):
            return False
        if self._unseen(word):
            return not word.isascii() or self._gaz.is_last(word)
        return self._gaz.is_last(word) and not self.english_form(word) and not self._common(word)  # "Milena volk"

    def _surname_after(self, text: str, after: re.Match[str]) -> bool:
        word = after.group("word")
        if not self._name_like(word) or not (self._gaz.is_last(word) or self._unseen(word)):
            return False
        return not (_COMPANY_AFTER.match(text, after.end()) or self._gaz.is_place(word) and not self._gaz.is_last(word))

    def _unseen(self, word: str) -> bool:
        return word.lower() not in self._seen

    def _name_like(self, word: str) -> bool:
        """A known first or last name, or a word the model never saw; no common or role word."""
        lower = word.lower()
        if lower in _ROLES or self._common(word):
            return False
        return self._gaz.is_name(word) or self._unseen(word)

    def _all_name_like(self, phrase: str) -> bool:
        return all(self._name_like(w) for w in phrase.split(" "))

    def _speakers(self, text: str) -> list[tuple[int, int]]:
        if ":" not in text:
            return []
        labels = [m for m in _SPEAKER.finditer(text) if self._all_name_like(m.group("label"))]
        first_names = {m.group("label") for m in labels if self._gaz.is_first(m.group("label").split(" ")[0])}
        if len({m.group("label") for m in labels}) >= 2 and any(self._gaz.is_name(m.group("label").split(" ")[0]) for m in labels):
            # In a dialogue, a common first name that is a common word too speaks ("June:", "Will:").
            labels += [m for m in _SPEAKER.finditer(text) if m not in labels and self._dialogue_first_name(m.group("label"))]
            return [m.span("label") for m in labels]
        lone = [m for m in labels if m.group("speech") in "\"“'" or m.group("label") in first_names and self._unseen(m.group("label"))]
        return [m.span("label") for m in lone]

    def _dialogue_first_name(self, label: str) -> bool:
        return " " not in label and label.lower() not in _ROLES and self._gaz.is_common_first(label)

    def _caps_speakers(self, text: str) -> list[tuple[int, int]]:
        """Speaker labels in capitals, as in a screenplay: two or more different labels, each a
        name (title-cased: a known name or a word the model never saw, no role: "USER",
        "ERROR"), one of them a known first name."""
        labels = [m for m in _CAPS_SPEAKER.finditer(text) if self._all_name_like(m.group("label").title())]
        names = {m.group("label") for m in labels}
        if len(names) < 2 or not any(self._gaz.is_first(label.split(" ")[0]) for label in names):
            return []
        return [m.span("label") for m in labels]

    def _pairs(self, text: str) -> list[tuple[int, int]]:
        found = []
        for match in _PAIR.finditer(text):
            words = match.group().split(" ")
            if words[0].lower() in _MONTH_FIRST_NAMES and self._unseen(words[1]) and self._is_last(words[1]):
                found.append((match.start(), match.start() + len(words[0]) + 1 + len(words[1])))
                continue  # "add August Andreasen as guardian": a month that is a first name, then a rare surname
            while words and (words[0].lower() in _ROLES or self._common(words[0])):
                words.pop(0)  # "The Maksimiljan Dolenc version": the article is no part of it
            start = match.end() - len(" ".join(words))
            # Three words may hold a pair after a capitalised verb ("Meet Josephine Boddaugh-Spaan")
            # or before a capitalised word ("Lia Tabacu Concert").
            windows = [(0, len(words))] + ([(1, 3), (0, 2)] if len(words) == 3 else [])
            if len(words) == 3 and not self._unseen(words[0]) and not self._gaz.is_common_first(words[0]):
                windows = [(1, 3), (0, 3), (0, 2)]  # an English word first is the sentence's ("Meet")
            for i, j in windows:
                pair = words[i:j]
                if len(pair) < 2 or not self._all_name_like(" ".join(pair)) or not self._pair_of_names(pair):
                    continue
                at = start + len(" ".join(words[:i])) + (1 if i else 0)
                end = at + len(" ".join(pair))
                if not (_FIRM_BEFORE.search(text, 0, at) or _COMPANY_AFTER.match(text, end)):
                    found.append((at, end))
                break
        return found

    def _particle_pairs(self, text: str) -> list[tuple[int, int]]:
        """A known first name, one or two particles and a surname the gazetteer knows or the model
        never saw ("Marina De Backer"); not a known place ("Marina del Rey") nor a firm's name."""
        found = []
        for match in _PARTICLE_PAIR.finditer(text):
            first, last = match.group("first"), match.group("last")
            if not (self._gaz.is_first(first) and self._name_like(first) and self._name_like(last)):
                continue
            if (self._is_last(last) or self._unseen(last)) and not self._gaz.is_place(match.group()):
                if not (_FIRM_BEFORE.search(text, 0, match.start()) or _COMPANY_AFTER.match(text, match.end())):
                    found.append(match.span())
        return found

    def _pair_of_names(self, words: Sequence[str]) -> bool:
        """Two or three words, one of them unseen by the model: a known first name then a known
        last name; a common first name then surnames the model never saw ("Lia Tabacu"); an
        unseen word then a known last name ("Anuța Marin"); or words none of which the model
        ever saw that name no known place ("Umoja Magombo", "Niğmet Dumanlı")."""
        unseen = [self._unseen(w) for w in words]
        if not any(unseen):
            return False
        if self._gaz.is_first(words[0]) and self._is_last(words[-1]):
            return True
        if self._gaz.is_common_first(words[0]) and all(unseen[1:]) or unseen[0] and self._is_last(words[-1]):
            return True
        return all(unseen) and not self._gaz.is_place(" ".join(words))

    def _is_last(self, word: str) -> bool:
        """A known last name, or a double-barrelled one with a known part ("Nowak-Wiśniewski")."""
        return self._gaz.is_last(word) or "-" in word and any(self._gaz.is_last(part) for part in word.split("-"))

    def _lists(self, text: str, person: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The other items of a list in which a name was found; every item of a list of
        known names followed by what people are ("... were precision engineers")."""
        found: list[tuple[int, int]] = []
        if not person and ":" not in text and not _LIST_PEOPLE_AFTER.search(text):
            return found
        for match in _LIST.finditer(text):
            if _LIST_FIRM_BEFORE.search(text, 0, match.start()) or _COMPANY_AFTER.match(text, match.end()):
                continue
            items = [(m.start(), m.end()) for m in re.finditer(_CAP, match.group())]
            base = match.start()
            words = [match.group()[a:b] for a, b in items]
            tagged = [any(s <= base + a < e for s, e in person) for a, _ in items]
            if _LIST_PEOPLE_AFTER.match(text, match.end()) and self._known_names(words):
                found += [(base + a, base + b) for a, b in items]  # "Llobet and Siqueira were ...": all names
                continue
            # Introduced by a colon ("our 3 founders: Fernandes, Müür and Jaroš"), three or more are names.
            listed = after_colon(text, base) and len(items) >= 3
            if listed or any(tagged):
                # After a colon, when most items read as names, the others are names too ("Steindl, Pirelli and Valente").
                most = listed and sum(map(self._name_like, words)) * 2 > len(words)
                for (a, b), word, t in zip(items, words, tagged, strict=True):
                    if not t and (self._name_like(word) or most and not self._common(word) and word.lower() not in _ROLES):
                        found.append((base + a, base + b))
        return found + self._lower_items(text) if ":" in text else found

    def _lower_items(self, text: str) -> list[tuple[int, int]]:
        """The items of a list of three or more after people and a colon ("our 3 founders:")
        whose capitalised items, two at least, mostly read as names: those capitalised items, and those in lower case that are a known
        name or a word the model never saw, no English or common word ("founders: Molesini, volk and Świerszcz"; "Stack: Redis, kafka
        and Postgres" names no people)."""
        found = []
        for match in _MIXED_LIST.finditer(text):
            if not _PEOPLE_BEFORE_COLON.search(text, max(0, match.start() - 40), match.start()):
                continue
            caps = [*re.finditer(_CAP, match.group())]
            lower = [*_LOWER_ITEM_WORD.finditer(match.group())]
            if len(caps) < 2 or not lower or sum(self._name_like(m.group()) for m in caps) * 2 <= len(caps):
                continue
            found += [(match.start() + m.start(), match.start() + m.end()) for m in caps if self._name_like(m.group())]
            for item in lower:
                word = item.group()
                if (self._gaz.is_name(word) or self._unseen(word)) and not self.english_form(word) and not self._common(word):
                    found.append((match.start() + item.start(), match.start() + item.end()))
        return found

    def _bullet_items(self, text: str, person: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The other lines of a bullet or numbered list one line of which the model tagged a name
        ("Winners:\\n1. Ada Obi\\n2. Ise van Leeuwen"): every word of theirs reads as a name
        (particles aside), the first a known name or a word the model never saw."""
        items = [*_BULLET_ITEM.finditer(text)]
        if not any(s <= m.start("item") < e for m in items for s, e in person):
            return []
        found = []
        for match in items:
            words = [w for w in match.group("item").split(" ") if w.lower() not in _PARTICLE_WORDS]
            if all(map(self._name_like, words)) and (self._gaz.is_name(words[0]) or self._unseen(words[0])):
                found.append(match.span("item"))
        return found

    def _known_names(self, words: Sequence[str]) -> bool:
        """Every word reads as a name and is a known name or an unseen word with letters English
        has none of ("Peško"), and one at least the model never saw ("Llobet and Siqueira",
        "Thorsen and Peško"; "Deployments and Rollbacks" are not)."""
        known = all(self._name_like(w) and (self._gaz.is_name(w) or self._unseen(w) and not w.isascii()) for w in words)
        return known and any(map(self._unseen, words))

    def _possessives(self, text: str) -> list[tuple[int, int]]:
        if "'" not in text and "’" not in text:
            return []
        return [m.span("name") for m in _POSSESSIVE.finditer(text) if self._name_like(m.group("name"))]

    def _subjects(self, text: str) -> list[tuple[int, int]]:
        found = []
        for match in _SUBJECT.finditer(text):
            name, start = match.group("name"), match.start()
            particles = _PARTICLES_BEFORE.search(text, max(0, start - 16), start)
            if particles is not None and _clause_start(text, particles.start()):
                start = particles.start()  # "da Costa began writing": the particles open the clause
            if not _clause_start(text, start):
                continue
            verb = match.group("verb")
            if not self._name_like(name):
                # "Smirnoff began writing ..., publishing her first story": a word the model knows
                # that is no English word, taken up by a personal pronoun.
                if self.foreign_name_word(name) and _PRONOUN_AFTER.search(_sentence_rest(text, match.end())):
                    found.append((start, match.end("name")))
                continue
            if _ONLY_PEOPLE.match(verb):
                named = self._gaz.is_name(name) or self._unseen(name)
            elif _HUMAN_VERB.match(verb):
                named = self._gaz.is_common_first(name) or self._unseen(name)
            else:  # "Mikkelsen began writing": a known name, or an unseen word with letters English has
                # none of ("Gaičiūnas began"); "Datadog started" is none. A surname or an unseen word
                # that a personal pronoun takes up in the same sentence is a person's ("Andersen
                # began writing as a teenager, publishing her first story").
                named = self._gaz.is_common_first(name) or self._unseen(name) and (self._gaz.is_last(name) or not name.isascii())
                if not named and (self._gaz.is_last(name) or self._unseen(name)):
                    named = _PRONOUN_AFTER.search(_sentence_rest(text, match.end())) is not None
            if named:
                found.append((start, match.end("name")))
        return found

    def _pair_subjects(self, text: str) -> list[tuple[int, int]]:
        """A known first name and a known last name or a word the model never saw, at a clause's
        start, before a verb people do ("Caleb Greer lives at ..."); before a verb only people do,
        any surname that is no English word ("Mathilde Chevrolet lives at")."""
        found = []
        for match in _PAIR_SUBJECT.finditer(text):
            first, last = match.group("first"), match.group("last")
            month = first.lower() in _MONTH_FIRST_NAMES and self._is_last(last)  # "Born in 1984, June Price studied"
            if not (_clause_start(text, match.start()) and (month or self._name_like(first) and self._gaz.is_first(first))):
                continue
            surname = self._name_like(last) and (self._is_last(last) or self._unseen(last))
            if surname or _ONLY_PEOPLE.fullmatch(match.group("verb")) and self.foreign_name_word(last):
                found.append((match.start(), match.end("last")))  # "Mathilde Chevrolet lives at"
        return found

    def _speakers_and_called(self, text: str) -> list[tuple[int, int]]:
        """The name after "says", "asked", "was called" ...: one to three words that read as
        names, the first a known first name ("says Crystal Nguyen"; "said Friday" stays). A first
        name that is also a common word reads as one before a surname that is none ("says Per
        Sandvik"; "is called Grant Funding today" stays)."""
        found = []
        for match in _SPEAKER_OR_CALLED.finditer(text):
            first, *rest = match.group("name").split(" ")
            first_like = self._name_like(first) or bool(rest) and first.lower() not in _ROLES
            if self._gaz.is_first(first) and first_like and all(map(self._name_like, rest)) and not _COMPANY_AFTER.match(text, match.end()):
                found.append(match.span("name"))
        return found

    def _assignees(self, text: str) -> list[tuple[int, int]]:
        """Action items: "- Jill to draft the RFC", "2. Fay will book the room". A known first name
        that is no common word and no place only ("Sales to confirm" is a team); when one item
        names someone, an item's word the model never saw is a name too ("- Aadhya to book")."""
        items = [m for b in _BULLET.finditer(text) if (m := _ASSIGNEE.match(text, b.end())) and self._name_like(m.group("name"))]
        named = [m for m in items if self._gaz.is_first(m.group("name")) and self._not_only_place(m.group("name"))]
        if not named:
            return []
        return [m.span("name") for m in items if m in named or self._unseen(m.group("name"))]

    def _mentions(self, text: str) -> list[tuple[int, int]]:
        """"@ikenna can you review", "@maria.lopez": a handle made of names, each a common first
        name or a known name the model never saw, or of words the model never saw when a request
        follows ("@wriddhish can you review"); no group ("@here", "@channel") and no code
        ("@app.route(", "@property")."""
        found = []
        for match in _MENTION.finditer(text):
            parts = re.split(r"[._-]", match.group("handle"))
            if match.group("handle").lower() in _GROUP_HANDLES or any(self._common(p) for p in parts):
                continue
            if all(self._gaz.is_common_first(p) or self._gaz.is_name(p) and self._unseen(p) for p in parts):
                found.append(match.span("handle"))
            elif all(map(self._unseen, parts)) and _REQUEST_AFTER.match(text, match.end()):
                found.append(match.span("handle"))  # "@wriddhish can you review": asked, so someone
        return found

    def _not_only_place(self, word: str) -> bool:
        return self._gaz.is_common_first(word) or not self._gaz.is_place(word)

    def _addressed(self, text: str, dialogue: bool) -> list[tuple[int, int]]:
        """A common first name addressed ("..., Isabel."), signing off, or introducing itself
        ("Isabel Mahoney here."); in a dialogue also a name the model never saw ("Remember me,
        Frančišek?")."""
        found = []
        matches = [*_VOCATIVE.finditer(text)] if "," in text else []
        if "," in text:  # "Igor, the report ...": a first name that is no place alone ("Lagos, the city")
            opening = _OPENING_VOCATIVE.finditer(text)
            matches += (m for m in opening if _clause_start(text, m.start()) and self._not_only_place(m.group("name")))
        matches += _SIGN_OFF.finditer(text, max(0, len(text) - _SIGN_OFF_TAIL))
        if " here" in text:
            matches += (m for m in _HERE.finditer(text) if _clause_start(text, m.start()))
        for match in matches:
            words = match.group("name").split(" ")
            first = self._gaz.is_common_first(words[0]) or dialogue and self._unseen(words[0])
            if first and self._all_name_like(match.group("name")):
                found.append(match.span("name"))
        return found

    def _objects(self, text: str) -> list[tuple[int, int]]:
        """A full name after a verb or greeting whose object is a person: "Please reach Ana Lucia
        Costa", "Call Maria Jose Fernandez today" (a known first name, a known last name last, every
        word name-like; "Call Center Support" is none)."""
        found = []
        for match in _OBJECT.finditer(text):
            words = match.group("name").split(" ")
            while len(words) > 2 and not self._name_like(words[-1]):
                words.pop()  # "Email John Smith Monday": the name ends before a common word
            name = " ".join(words)
            if self._gaz.is_first(words[0]) and self._is_last(words[-1]) and self._all_name_like(name):
                found.append((match.start("name"), match.start("name") + len(name)))
        return found

    def _given_and_held(self, text: str) -> list[tuple[int, int]]:
        """A full name given a person's role ("add Sifa Kiptoo as guardian": no English word, one
        known or unseen), holding a booking ("it's under Jessica Comment": a common first name, not
        both words English), and a common first name addressed after an object pronoun ("leave
        me Adrian, ..."; "give me Python," and "you Siri," are none). The English table has famous
        names ("lydia", "hugo"), so a common first name is not asked to be no word."""
        found = []
        if " as " in text:
            for match in _AS_ROLE.finditer(text):
                words = match.group("name").split(" ")
                if all(map(self.foreign_name_word, words)) and not any(self.english_form(w.lower()) for w in words) and any(map(self._name_like, words)):
                    found.append(match.span("name"))
        for match in _UNDER.finditer(text) if " under " in text else ():
            first, last = match.group("first"), match.group("last")
            if not (self._gaz.is_common_first(first) and self._name_like(first)) or self._common(last) or last.lower() in _ROLES | NAMED_PRODUCTS:
                continue
            if not (self.english_form(first.lower()) and self.english_form(last.lower())):  # "under Apple Music" stays
                found.append((match.start("first"), match.end("last")))
        for match in _OBJECT_VOCATIVE.finditer(text) if "," in text else ():
            name = match.group("name")
            if self._gaz.is_common_first(name) and self._name_like(name) and name.lower() not in NAMED_PRODUCTS:
                found.append(match.span("name"))
        return found

    def _relatives(self, text: str) -> list[tuple[int, int]]:
        """Names after a relative or a nickname: "my kid Pascual", "my partner's name Tenis
        Auziņš", "everyone calls me Asanti"."""
        found = []
        for match in _RELATIVE.finditer(text):
            words = match.group("name").split(" ")
            while words and not self._name_like(words[-1]):
                words.pop()  # "my son Luca tomorrow": the name ends before a common word
            if words and (self._gaz.is_name(words[0]) or self._unseen(words[0])):
                start = match.start("name")
                found.append((start, start + len(" ".join(words))))
        for match in _LOWER_RELATIVE.finditer(text):  # a known first name, no English or common word
            name = match.group("name")
            if self._gaz.is_first(name) and not self.english_form(name) and not self._common(name) and name not in _ROLES:
                found.append(match.span("name"))
        return found

    def _caps_surnames_first(self, text: str) -> list[tuple[int, int]]:
        """"GATTO Marcelle": a known surname in capitals that is no English word, then a common
        first name ("HTTP Request", "URGENT Maria" are none)."""
        found = []
        for match in _CAPS_SURNAME_FIRST.finditer(text):
            last, first = match.group("last"), match.group("first")
            if self._is_last(last) and not self.english_form(last.lower()) and not self._common(last) and self._gaz.is_common_first(first):
                found.append(match.span())
        return found

    def _letter_heads(self, text: str) -> list[tuple[int, int]]:
        """The name lines of an address block: up to three lines of one to three capitalised
        words right above a street line ("Ivo Scotto\n\n3108 Guerra Lock", "> Lissi Hübel\n>
        7454 Berry Fall", "Crystal King\nBryant LLC\nMeisterstrasse 75"); a firm's line ("Wade
        PLC") is passed over."""
        found: list[tuple[int, int]] = []
        view = text.replace("\\n", " \n")  # escaped line breaks too, offsets kept
        lines = [(m.start("body"), m.group("body")) for m in _LINE.finditer(view)]
        for index, (_, body) in enumerate(lines):
            if not (_STREET_LINE.match(body) or any(m.start() == 0 for m in street_lines(body, None))):
                continue  # "3108 Guerra Lock", and the street forms of redactors.addresses ("Meisterstrasse 75")
            above = [line for line in lines[max(0, index - 4) : index] if line[1]]
            for start, head in above[-3:]:
                if (match := _HEAD_LINE.fullmatch(head)) and self._head_is_name(match.group("name").split(" ")):
                    found.append((start + match.start("name"), start + match.end("name")))
        return found

    def _head_is_name(self, words: Sequence[str]) -> bool:
        """A letter head's line that names a person: words that read as names, one of them known
        ("Eckhardt Geisel"), or a known first name before capitalised words that are no common,
        role or company words ("Tessa Courtier"; "Daniel Ltd" is a firm), or two or three words
        that are known names or no English words, one of them no word the model knows or a known
        name ("Adia Sayyid", "Ize Bouthoorn"). No job title ("Senior Buyer": both are known names);
        English words only after a common first name ("Crystal King")."""
        if any(w.lower() in _JOB_WORDS for w in words):
            return False
        if all(w.lower() in self._english for w in words) and not self._gaz.is_common_first(words[0]):
            return False
        if all(map(self._name_like, words)) and any(map(self._gaz.is_name, words)):
            return True
        if len(words) > 1 and all(self.foreign_name_word(w) for w in words) and any(map(self._name_like, words)):
            return True
        first = words[0]
        return len(words) > 1 and self._gaz.is_first(first) and self._name_like(first) and not any(
            self._common(w) or w.lower() in _ROLES for w in words[1:]
        )

    def foreign_name_word(self, word: str) -> bool:
        lower = word.lower()
        if lower in _ROLES or self._common(word):
            return False
        return self._gaz.is_name(word) or not self.english_form(lower) and not all(part in self._english for part in lower.split("-"))

    def english_form(self, lower: str) -> bool:
        """An English dictionary word, or an inflection of one ("wins", "studied", "writing"): the
        table holds lemmas only."""
        if lower in self._english:
            return True
        stems = [lower[: -len(end)] for end in _INFLECTIONS if lower.endswith(end) and len(lower) > len(end) + 2]
        return any(stem in self._english or stem + "e" in self._english or stem + "y" in self._english for stem in stems)

    def _families_and_inverted(self, text: str) -> list[tuple[int, int]]:
        """"The Lindfors family"; "Cīrulis, Ģirts" (a surname the model never saw, or one that is
        no first name, then a common first name)."""
        families = _FAMILY.finditer(text) if "the " in text.lower() else ()
        found = [m.span("name") for m in families if self._name_like(m.group("name")) and self._is_last(m.group("name"))]
        for match in _INVERTED.finditer(text) if ", " in text else ():
            last, first = match.group("last"), match.group("first")
            surname = self._unseen(last) or self._is_last(last) and not self._gaz.is_first(last)
            if surname and self._gaz.is_common_first(first) and self._name_like(last) and self._name_like(first):
                found.append(match.span())
        return found

    def _credits(self, text: str) -> list[tuple[int, int]]:
        found = [m.span("name") for m in _FORMER.finditer(text) if self._all_name_like(m.group("name"))] if "ex-" in text else []
        if not any(word in text for word in _CREDIT_WORDS):
            return found
        found += [m.span("name") for m in _CREDIT.finditer(text) if self._all_name_like(m.group("name"))]
        for match in _BY_PAIR.finditer(text) if " by " in text else ():
            first, last = match.group("first"), match.group("last")  # "(not by Blake Curtis)"
            if self._gaz.is_common_first(first) and self._is_last(last) and self.foreign_name_word(last) and not _COMPANY_AFTER.match(text, match.end()):
                found.append((match.start("first"), match.end()))
        return found
