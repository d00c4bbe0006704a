"""Dev-only PERSON material: sentence shapes of LLM traffic the other sources lack (``name-shapes``).

The presidio-templates test split's PERSON misses are shapes its dev templates do not have, and
those dev templates are exhausted. This source is new development material for names: chat
turns, e-mails (greetings, sign-offs, cc lists, headers), support tickets, CRM and meeting notes,
bios, form fields, reported speech, possessives, titles, hyphenated and multi-part names, names
next to roles and companies, lists and tables, lower and upper case. Names come from Faker
locales that no other source uses (West and East Africa, Pakistan, Thailand, Ireland in Irish,
Iceland, Chile, Quebec, Belgium, Liechtenstein, Luxembourg, Azerbaijan) and from Faker's
romanised Japanese and Chinese names, besides a share of the common English-language locales.

Benign twins stand beside them: companies (Faker's, often built from surnames), products,
capitalised common words, job titles and Kubernetes ``name:`` fields must survive (they count
in "ordinary words changed").

Every row is ``dev``: nothing here is held out, so rules may be written looking at any row; the
figures that count stay those of the other sources' test splits.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from faker import Faker

from bench.eval.corpus import LOCATION, PERSON
from bench.eval.public import NAME_LOCALES, SEED, Piece, _fill, _row

SOURCE = "name-shapes"
# Latin-script person locales that no other source uses.
NEW_LOCALES = (
    "en_KE", "en_NG", "en_PK", "en_TH", "es_CL", "fr_BE", "fr_CA", "ga_IE", "ha_NG", "ig_NG",
    "is_IS", "tw_GH", "yo_NG", "zu_ZA", "de_LI", "de_LU", "az_AZ",
)  # fmt: skip
ROMANISED_LOCALES = ("ja_JP", "zh_CN", "zh_TW")
COMMON_LOCALES = ("en_US", "en_GB", "en_IN", "de_DE", "fr_FR", "es_MX", "pt_BR", "it_IT", "pl_PL", "nl_NL")
# Share of names drawn from the new, the romanised and the common locales.
_SHARES = ((0.5, NEW_LOCALES), (0.15, ROMANISED_LOCALES), (1.0, COMMON_LOCALES))

SHAPE_TEMPLATES: tuple[tuple[str, str], ...] = (
    # chat turns
    ("shapes/chat/intro", "User: Hello, my name is {PERSON} and I need help with my order."),
    ("shapes/chat/this-is", "hey, this is {FIRST} from accounting, quick question about the VPN"),
    ("shapes/chat/friend", "Can you write a birthday message for my friend {FIRST}? She loves hiking."),
    ("shapes/chat/rewrite", "Rewrite this so it sounds friendlier: '{FIRST}, the report is late again.'"),
    ("shapes/chat/colleague", "My colleague {PERSON} keeps taking credit for my work. How do I bring it up?"),
    ("shapes/chat/lower", "hi im {PERSON_LOWER} and i cant reset my password"),
    ("shapes/chat/assistant-name", "Assistant: Thanks, {FIRST}. I've updated the delivery date for you."),
    ("shapes/chat/turns", "User: who signed the lease?\nAssistant: The lease was signed by {PERSON} on 3 May."),
    ("shapes/chat/call-me", "You can call me {FIRST}, everyone does."),
    ("shapes/chat/son", "my son {FIRST} has a fever since yesterday, should I worry?"),
    # e-mail
    ("shapes/email/greeting", "Hi {FIRST},\n\nThe invoice is attached. Let me know if anything is missing."),
    ("shapes/email/dear-full", "Dear {PERSON},\n\nThank you for your application to the {JOB} position."),
    ("shapes/email/signoff-best", "See you on Thursday.\n\nBest,\n{FIRST}"),
    ("shapes/email/signoff-title", "Kind regards,\n{PERSON}\n{JOB}, {COMPANY}"),
    ("shapes/email/cc", "From: {PERSON} <{EMAIL}>\nTo: {PERSON}\nCc: {PERSON}; {PERSON}\nSubject: Q3 budget"),
    ("shapes/email/forward", "---------- Forwarded message ---------\nFrom: {PERSON}\nDate: Mon, 4 Nov\n\nPlease see below."),
    ("shapes/email/wrote", "On Tue, 12 Mar at 09:14, {PERSON} wrote:\n> Can we move the call?"),
    ("shapes/email/hello-all", "Hello all, please welcome {PERSON}, who joins the platform team today."),
    ("shapes/email/ooo", "I am out of office until Monday. For urgent matters contact {PERSON}."),
    ("shapes/email/thanks-to", "Many thanks to {FIRST} and {FIRST} for covering the on-call shift."),
    # support tickets and CRM
    ("shapes/ticket/reported", "Ticket #4821 reported by {PERSON}: printer on floor 3 jams on every job."),
    ("shapes/ticket/assigned", "Assigned to: {PERSON}\nPriority: High\nStatus: Open"),
    ("shapes/ticket/caller", "Caller {PERSON} says the router reboots every hour since the update."),
    ("shapes/ticket/escalate", "Escalating to {FIRST} {LAST} in billing; customer was charged twice."),
    ("shapes/crm/note", "CRM note: spoke with {PERSON} ({JOB} at {COMPANY}); follow up in two weeks."),
    ("shapes/crm/contact", "Contact: {PERSON}, {JOB}, {COMPANY}"),
    ("shapes/crm/lead", "New lead from the webinar: {PERSON} asked for a demo next week."),
    ("shapes/crm/account-owner", "Account owner {PERSON} approved the discount for {COMPANY}."),
    # meetings
    ("shapes/meeting/attendees", "Attendees: {PERSON}, {PERSON}, {PERSON}\nAgenda: roadmap, hiring"),
    ("shapes/meeting/actions", "Action items:\n- {FIRST} to draft the RFC\n- {FIRST} to book the room"),
    ("shapes/meeting/owner", "Decision: ship on the 14th. Owner: {PERSON}."),
    ("shapes/meeting/absent", "Apologies from {PERSON}, who is travelling."),
    ("shapes/meeting/minutes", "Minutes taken by {FIRST} {LAST}. Next meeting on 2 June."),
    # bios and reported speech
    ("shapes/bio/is-a", "{PERSON} is a {JOB} with ten years of experience in logistics."),
    ("shapes/bio/born", "Born in 1984, {PERSON} studied economics before joining {COMPANY}."),
    ("shapes/bio/speaker", "Our keynote speaker, {PERSON}, leads research at {COMPANY}."),
    ("shapes/bio/award", "The award went to {PERSON} for her work on water sanitation."),
    ("shapes/speech/according", "According to {PERSON}, the shipment left the port on Friday."),
    ("shapes/speech/said", '"We are not ready," said {PERSON}, the project lead.'),
    ("shapes/speech/told", "{FIRST} told me the contract was already signed."),
    ("shapes/speech/quote-after", "'I'll handle it,' {FIRST} replied."),
    ("shapes/speech/mentions", "As {PERSON} mentioned in the last call, the API is rate limited."),
    # forms and fields
    ("shapes/form/name", "Name: {PERSON}\nDate of birth: 1990-04-12\nPolicy: standard"),
    ("shapes/form/first-last", "First name: {FIRST}\nLast name: {LAST}\nNewsletter: yes"),
    ("shapes/form/json", '{{"customer_name": "{PERSON}", "tier": "gold", "active": true}}'),
    ("shapes/form/yaml", "patient:\n  full_name: {PERSON}\n  ward: B2"),
    ("shapes/form/kv", "requested_by={PERSON} approver={PERSON} amount=420"),
    ("shapes/form/upper", "NAME: {PERSON_UPPER}\nACCOUNT TYPE: SAVINGS"),
    ("shapes/form/surname-comma", "Applicant: {LAST}, {FIRST}\nVisa type: work"),
    ("shapes/form/signed", "Signed: {PERSON}\nWitness: {PERSON}"),
    # possessives, titles, multi-part names
    ("shapes/possessive/laptop", "{FIRST}'s laptop won't boot after the update."),
    ("shapes/possessive/full", "Please forward {PERSON}'s CV to the hiring panel."),
    ("shapes/possessive/team", "This was {FIRST}'s idea, so she should present it."),
    ("shapes/title/dr", "Dr. {LAST} will see you at 10:30 on Tuesday."),
    ("shapes/title/mrs", "Mrs. {PERSON} called about the leaking radiator."),
    ("shapes/title/prof", "Prof. {PERSON} has agreed to review the thesis."),
    ("shapes/title/mr-last", "Good morning Mr {LAST}, your table is ready."),
    ("shapes/multi/middle", "The deed lists {FULL} as the sole owner."),
    ("shapes/multi/hyphen", "Please add {HYPHEN} to the guest list."),
    ("shapes/multi/hyphen-possessive", "Is {HYPHEN} available for the panel on Friday?"),
    ("shapes/multi/initial", "Report prepared by {INITIAL} for the steering committee."),
    # roles and companies next to names
    ("shapes/role/ceo", "{COMPANY} CEO {PERSON} announced the merger on Monday."),
    ("shapes/role/manager", "I reported it to my manager, {PERSON}, but nothing happened."),
    ("shapes/role/from-company", "{PERSON} from {COMPANY} will join the call."),
    ("shapes/role/dash", "{PERSON} - {JOB}"),
    ("shapes/role/parens", "Please ask the on-call engineer ({PERSON}) before deploying."),
    # lists and tables
    ("shapes/list/bullets", "Team:\n* {PERSON}\n* {PERSON}\n* {PERSON}"),
    ("shapes/list/numbered", "Winners:\n1. {PERSON}\n2. {PERSON}\n3. {PERSON}"),
    ("shapes/list/table", "| Name | Role |\n|---|---|\n| {PERSON} | {JOB} |\n| {PERSON} | {JOB} |"),
    ("shapes/list/csv", "name,department,start\n{PERSON},Finance,2023-01-09"),
    ("shapes/list/or", "Either {FIRST} or {FIRST} can approve the request."),
    # case
    ("shapes/case/upper-sentence", "PLEASE CALL {PERSON_UPPER} ABOUT THE DELIVERY"),
    ("shapes/case/lower-sentence", "can you check if {FIRST_LOWER} {LAST_LOWER} is on the list"),
    ("shapes/case/upper-last", "Passenger {LAST_UPPER} {FIRST}, gate 22"),
    # places near names
    ("shapes/place/moved", "{PERSON} moved to {CITY} last spring."),
    ("shapes/place/office", "{FIRST} runs our {CITY} office."),
    # benign twins: companies, products, common words, config
    ("shapes/benign/company-deal", "{COMPANY} signed the renewal; procurement sends the PO on Monday."),
    ("shapes/benign/company-pair", "Compare the offers from {COMPANY} and {COMPANY} before Friday."),
    ("shapes/benign/products", "We migrated from Jenkins to GitHub Actions and moved logs to Grafana Loki."),
    ("shapes/benign/title-case", "Quarterly Business Review: Revenue Growth, Customer Churn and Hiring Plan"),
    ("shapes/benign/k8s", "metadata:\n  name: payment-gateway\n  namespace: billing\nspec:\n  replicas: 3"),
    ("shapes/benign/name-field", "Name: Build Pipeline\nStatus: Passing\nOwner: Platform Team"),
    ("shapes/benign/job", "We are hiring a {JOB}; the role reports to the Head of Operations."),
    ("shapes/benign/weekday", "Monday's Standup moved to Tuesday; Friday Demo stays as planned."),
    ("shapes/benign/brands", "Is the Apple Pencil compatible with the iPad Air, or do I need the Surface Pen?"),
    ("shapes/benign/places", "Our warehouses in {CITY} and {CITY} handle the Christmas Rush."),
)


# A second batch, written after the first round of rules and scored once before any rule looked
# at it (the figure in docs/detection.md): news, social, medical, HR, legal and developer shapes.
SECOND_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("shapes2/news/age", "{PERSON}, 34, was arrested on Tuesday after the match."),
    ("shapes2/news/interview", "Interview with {PERSON} about her new book"),
    ("shapes2/news/scored", "{LAST} scored twice in the second half."),
    ("shapes2/news/founded", "In 2019 {PERSON} founded a small bakery in the old town."),
    ("shapes2/social/photo", "Photo by {PERSON} on Unsplash"),
    ("shapes2/social/mention", "@{FIRST_LOWER} can you review this PR before lunch?"),
    ("shapes2/social/pronouns", "{PERSON} (she/her) | Product Designer"),
    ("shapes2/social/congrats", "Congratulations to {PERSON} on the promotion!"),
    ("shapes2/social/and-i", "{FIRST} and I went to the cinema last night."),
    ("shapes2/social/is-this", "Is this {FIRST}? I think we met at the conference."),
    ("shapes2/medical/patient", "The patient, {PERSON}, was admitted on Monday with chest pain."),
    ("shapes2/medical/field", "Patient name: {LAST}, {FIRST}\nDOB: 1971-02-03"),
    ("shapes2/medical/emergency", "Emergency contact: {PERSON} (mother)"),
    ("shapes2/medical/referred", "Referred by Dr {LAST} for a follow-up scan."),
    ("shapes2/hr/hired", "We hired {PERSON} as our new {JOB}."),
    ("shapes2/hr/reference", "I need a reference letter for {PERSON}, who worked with me for three years."),
    ("shapes2/hr/farewell", "Reminder: {FIRST}'s farewell lunch is on Friday."),
    ("shapes2/hr/review", "Performance review for {PERSON_UPPER} - Q2"),
    ("shapes2/legal/beneficiary", "Beneficiary: {PERSON}\nShare: 50%"),
    ("shapes2/legal/between", "This agreement is made between {PERSON} and {COMPANY}."),
    ("shapes2/legal/witness", "In the presence of {PERSON}, notary."),
    ("shapes2/dev/commit", "Co-authored-by: {PERSON} <{EMAIL}>"),
    ("shapes2/dev/blame", "last edited by {PERSON_LOWER} 3 days ago"),
    ("shapes2/dev/review", "LGTM, but let {FIRST} sign off on the schema change."),
    ("shapes2/chat/spoke-to", "Spoke to {FIRST} at the front desk, she said it's fixed."),
    ("shapes2/chat/lower-cancel", "{PERSON_LOWER} wants to cancel the subscription"),
    ("shapes2/chat/thanks-dash", "Thanks again — {FIRST}"),
    ("shapes2/chat/hello-code", "Hello {FIRST}! Your verification code is 4412."),
    ("shapes2/benign/release", "Release Notes: Dark Mode, Faster Search and Better Sync"),
    ("shapes2/benign/company-news", "{COMPANY} reported record revenue in the third quarter."),
)


# A third batch in the genres of presidio-evaluator's templates (bank support chat, music and
# film reviews, news, scripts, bios, reference letters), written without looking at their held-out
# part and filled with the names of the locales the presidio-templates source uses; scored once
# before any rule looked at it.
THIRD_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("shapes3/bank/transfer", "Please transfer 200 euros to {PERSON} tomorrow morning."),
    ("shapes3/bank/joint", "Can you add {FIRST} to my account as a joint holder?"),
    ("shapes3/bank/card-name", "The card is in the name of {PERSON}, not mine."),
    ("shapes3/bank/behalf", "I'm calling on behalf of my father, {PERSON}, who is in hospital."),
    ("shapes3/bank/deceased", "My aunt {PERSON} passed away last month; how do we close her account?"),
    ("shapes3/review/voice", "{PERSON}'s voice carries the whole second half of the record."),
    ("shapes3/review/solo", "The guitar solo by {PERSON} is the highlight of the album."),
    ("shapes3/review/lyrics", "{LAST} wrote the lyrics in a single night."),
    ("shapes3/review/produced", "Few remember that {PERSON} produced the album in a garage."),
    ("shapes3/review/on-vocals", "The remix with {PERSON} on vocals never charted."),
    ("shapes3/review/together", "Watching {PERSON} and {PERSON} on stage together was magic."),
    ("shapes3/review/cast", "The cast includes {PERSON}, {PERSON} and a very young {PERSON}."),
    ("shapes3/news/missing", "Police are looking for {PERSON}, last seen near the station on Friday."),
    ("shapes3/news/wins", "{PERSON} wins the regional chess title for the third time."),
    ("shapes3/news/tributes", "Tributes have been paid to {PERSON} after her death at 81."),
    ("shapes3/news/mayor", "Mayor {PERSON} opened the new bridge on Saturday."),
    ("shapes3/news/charged", "A man named {PERSON} has been charged with fraud."),
    ("shapes3/script/direction", "{FIRST} (whispering): Did you hear that?"),
    ("shapes3/script/caps", "{FIRST_UPPER}: Get down, now!\n{FIRST_UPPER}: I can't see anything."),
    ("shapes3/bio/abroad", "After college, {PERSON} moved abroad and taught English for a decade."),
    ("shapes3/bio/raised", "{LAST} was raised by her grandmother in a small fishing village."),
    ("shapes3/bio/couple", "{PERSON} and her husband {FIRST} run the farm together."),
    ("shapes3/letter/known", "To whom it may concern, I have known {PERSON} for six years."),
    ("shapes3/letter/recommend", "I warmly recommend {FIRST} for the scholarship."),
    ("shapes3/card/block", "{PERSON}\n{JOB}\n{COMPANY}"),
    ("shapes3/chat/sister", "what should i get my sister {FIRST_LOWER} for her birthday"),
    ("shapes3/chat/married", "I got married to {PERSON} last June and want to change my surname."),
    ("shapes3/chat/named-after", "We named our daughter after my grandmother, {FIRST}."),
)


# A fourth batch: short sentences that hold a lone first or last name and few cues; scored once
# before any rule looked at it.
FOURTH_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("shapes4/short/how-old", "How old is {FIRST}?"),
    ("shapes4/short/where-live", "Where does {FIRST} live now?"),
    ("shapes4/short/shopping", "I went shopping with {FIRST} yesterday."),
    ("shapes4/short/send-to", "Send it to {LAST} please."),
    ("shapes4/short/ask", "Ask {FIRST} about the keys."),
    ("shapes4/short/coming", "Is {LAST} coming to the party?"),
    ("shapes4/short/right", "I think {FIRST} is right about the budget."),
    ("shapes4/short/accounting", "{PERSON} from accounting approved it."),
    ("shapes4/short/met", "I met {FIRST} at the gym last week."),
    ("shapes4/short/waiting", "{FIRST} is waiting outside."),
    ("shapes4/short/gift", "This gift is for {FIRST}."),
    ("shapes4/short/thanks-to", "Thanks to {LAST}, the launch went smoothly."),
    ("shapes4/short/without", "We can't start without {FIRST}."),
    ("shapes4/short/voted", "Everyone voted for {PERSON} except me."),
    ("shapes4/short/dear-first", "Dear {FIRST}, welcome aboard!"),
    ("shapes4/short/according-last", "According to {LAST}, the server was patched."),
)


class ShapeValues:
    """Names from many Faker locales (romanised Japanese and Chinese ones included), and the
    benign values the templates need."""

    def __init__(self, rng: random.Random, shares: tuple[tuple[float, tuple[str, ...]], ...] = _SHARES) -> None:
        self.rng = rng
        self.shares = shares
        self._fakers: dict[str, Faker] = {}

    def _faker(self, locales: tuple[str, ...]) -> Faker:
        locale = self.rng.choice(locales)
        if locale not in self._fakers:
            fake = Faker(locale)
            fake.seed_instance(SEED + 100 + len(self._fakers))
            self._fakers[locale] = fake
        return self._fakers[locale]

    def _name_faker(self) -> Faker:
        draw = self.rng.random()
        for share, locales in self.shares:
            if draw < share:
                return self._faker(locales)
        return self._faker(COMMON_LOCALES)

    def _parts(self, fake: Faker) -> tuple[str, str]:
        if hasattr(fake, "first_romanized_name"):
            return fake.first_romanized_name().title(), fake.last_romanized_name().title()
        return fake.first_name(), fake.last_name()

    def first(self) -> str:
        return self._parts(self._name_faker())[0]

    def last(self) -> str:
        return self._parts(self._name_faker())[1]

    def person(self) -> str:
        """A first and a last name of one locale."""
        return " ".join(self._parts(self._name_faker()))

    def full(self) -> str:
        """Three parts: a middle name, or two surnames."""
        fake = self._name_faker()
        (first, last), (second, other) = self._parts(fake), self._parts(fake)
        return f"{first} {second} {last}" if self.rng.random() < 0.5 else f"{first} {last} {other}"

    def hyphenated(self) -> str:
        fake = self._name_faker()
        (first, last), (_, other) = self._parts(fake), self._parts(fake)
        return f"{first} {last}-{other}"

    def initial(self) -> str:
        return f"{self.first()[0]}. {self.last()}"

    def company(self) -> str:
        return self._faker(("en_US", "en_GB", "de_DE", "fr_FR")).company()

    def job(self) -> str:
        return self._faker(("en_US",)).job()

    def city(self) -> str:
        return self._faker(("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")).city()

    def email(self) -> str:
        return self._faker(("en_US",)).free_email()


def _shape_makers(v: ShapeValues) -> dict[str, Callable[[], Piece]]:
    return {
        "PERSON": lambda: Piece(v.person(), PERSON),
        "FIRST": lambda: Piece(v.first(), PERSON),
        "LAST": lambda: Piece(v.last(), PERSON),
        "FULL": lambda: Piece(v.full(), PERSON),
        "HYPHEN": lambda: Piece(v.hyphenated(), PERSON),
        "INITIAL": lambda: Piece(v.initial(), PERSON),
        "PERSON_LOWER": lambda: Piece(v.person().lower(), PERSON),
        "PERSON_UPPER": lambda: Piece(v.person().upper(), PERSON),
        "FIRST_LOWER": lambda: Piece(v.first().lower(), PERSON),
        "LAST_LOWER": lambda: Piece(v.last().lower(), PERSON),
        "LAST_UPPER": lambda: Piece(v.last().upper(), PERSON),
        "FIRST_UPPER": lambda: Piece(v.first().upper(), PERSON),
        "CITY": lambda: Piece(v.city(), LOCATION),
        "EMAIL": lambda: Piece(v.email(), "EMAIL_ADDRESS"),
        "COMPANY": lambda: Piece(v.company(), None),
        "JOB": lambda: Piece(v.job(), None),
    }


def _template_rows(templates: tuple[tuple[str, str], ...], v: ShapeValues, rows: list[dict], per_template: int) -> None:
    makers = _shape_makers(v)
    for pattern, template in templates:
        for _ in range(per_template):
            for _attempt in range(20):
                row = _row(SOURCE, pattern, len(rows) + 1, _fill(template, makers))
                if row is not None:
                    rows.append({**row, "split": "dev"})
                    break


def shape_rows(per_template: int = 6) -> list[dict]:
    """Rows of every shape template, all in the ``dev`` split."""
    rows: list[dict] = []
    _template_rows(SHAPE_TEMPLATES + SECOND_TEMPLATES, ShapeValues(random.Random(SEED + 5)), rows, per_template)
    # The third batch: the names of the locales presidio-templates uses.
    _template_rows(THIRD_TEMPLATES, ShapeValues(random.Random(SEED + 6), ((1.0, NAME_LOCALES),)), rows, per_template)
    _template_rows(FOURTH_TEMPLATES, ShapeValues(random.Random(SEED + 7), ((1.0, NAME_LOCALES),)), rows, per_template)
    return rows
