"""Postal addresses as structures: a street line (or a military address) grown into the whole
address, in one line or across lines, so that the postcode, city, state and country go too.

Street lines, in the forms used in the US, UK, Commonwealth, continental Europe, Latin America,
India, the Philippines and Indonesia:

- number first, then the street name and a street type: "1423 Wagner Mountain", "65 O'Gara
  Street", "Flat 00, Davies Land", "84, chemin de Guillaume", "Level 6 6 Walsh Route",
  "Block 3 Lot 8 Greenfield Estates";
- a street word first, then the name and the number: "Via Roma 12", "Calle Nico Bru 429",
  "ul. Mazurska 37/16", "Bulevardul Vasilică Nemeș Nr. 81", "Calle 82 # 2-67", "Av. 2 N° 613",
  "Jl. Dr. Djunjunan No. 12", "Avenida do Roleto, S/N";
- one word ending in a street suffix, then the number: "Friedrichstraße 12", "Parkvägen 14",
  "Tuomarinkylänbulevardi 3", "Tomhof 74";
- a street type as a word of its own: "Eino Leinon katu 3", "Petőfi utca 80.", "Masarykova cesta 5";
- any capitalised name and a number when a postcode-and-city follows: "Olympijská 1, 413 92 Stod";
- a named street without a number after a preposition: "on Juan Course St.", "of Smith Road",
  "of Brown Parkways", "off Koch Tunnel"; any street type after a phrase that places someone on
  it: "lives on Brandt Ranch", "the north side of Young Point";
- a US town, state and ZIP code with no street: "Lake Mary FL 32746";
- lower-case words before a type word no English sentence uses: "Arany jános utca 184.";
- Chilean lines confirmed by a commune and a region: "Caupolicán 697, Algarrobo, Región de Valparaíso";
- a unit on a line of its own above the rest of the address: "Apt. 617\nMainburg\nYemen 88929";
- post-office boxes: "PO Box 92", "Postfach 1234";
- US military: "PSC 1234, Box 5678, APO AE 09876", "USNS Brown, FPO AP 12345".

The street line is then grown over what follows it: units ("Apt. 039", "Suite 232", "Piso 7",
"Bl. 89 Sc. 28"), postcode and city in either order ("18641 Rodrigues-sur-Fournier", "North
Henryview, WV 17935", "Sikar-648343"), a state or province, a UK, Irish, Canadian, Dutch or
Brazilian postcode, a second street ("82nd Road"), and a city or country name (one to six
capitalised words that are not common words, with particles and connectors: "Ústí nad Labem",
"Trinidad and Tobago", "Isle of Man"). Across a line break only a whole line of such parts is
taken, or a city after a postcode. Text without a digit is scanned only for named streets.

The regexes are tried only at the positions where one of their forms can start (house numbers,
unit and street words found in one Aho-Corasick pass over the lower-cased text, capitals followed
by a name and a number, prepositions before a named street); tests/redactors/test_addresses.py
checks that this finds exactly what a scan of every position finds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import ahocorasick_rs
from presidio_analyzer import RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from redactors import regexcache
from redactors.letters import LOWER, UPPER

ENTITY = "LOCATION"


def _trie(words: list[str]) -> str:
    """A regex that matches exactly the given words, their common prefixes factored out: the regex
    engine tries a plain alternation one word at a time, a factored one one letter at a time."""
    tree: dict[str, dict] = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return f"(?:{pattern(tree)})"


def _spellings(alternation: str) -> list[str]:
    """Every spelling of an alternation of words whose only operators are "\\." and "\\.?" or "[ ]?"."""
    options = {"\\.": (".",), "\\.?": ("", "."), "[ ]?": ("", " ")}
    spellings = []
    for word in alternation.split("|"):
        forms = [""]
        for token in re.findall(r"\\\.\??|\[ \]\?|.", word):
            if len(token) == 1 and token in "\\()[]{}?*+^$.":
                raise ValueError(f"not a word list: {word!r}")
            forms = [form + option for form in forms for option in options.get(token, (token,))]
        spellings += forms
    return spellings


_UP = UPPER
_LOW = LOWER
_WORD = rf"[{_UP}][{_UP}{_LOW}'’]*(?:(?:--?[ ]?|[ ]-)[{_UP}{_LOW}][{_UP}{_LOW}'’]*)*"  # "Saint-Jean", "Sainte- Amélie", "Lac--Ville", "Dominique -sur-Mer"
_PARTICLE = _trie("""
    de del della dei di da do dos das du des la le les von van der den y e am an im sur sous al el pod nad na ve pri bij aan op bei ob auf près lès en los las degli dello delle dal u i vorm vor ao aos
""".split())
# Connectors inside the name of a city or a country: "Bosnia and Herzegovina", "Isle of Man".
_CONNECTOR = rf"(?:{_PARTICLE}|and|of|the|&)"
_NUM = r"\d{1,5}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?)?"

# Street types (USPS Publication 28 suffixes and their common abbreviations; UK, Irish and
# Australian street types).
_STREET_TYPES = """
alley allee annex arcade avenue ave bayou beach bend bluff bluffs bottom boulevard blvd branch
bridge brook brooks burg burgs bypass camp canyon cape causeway center centre circle cir circuit
cliff cliffs close club common commons corner corners course court ct courts cove coves creek
crescent cres crest crossing crossroad curve dale dam divide drive dr drives esplanade estate
estates expressway extension extensions fall falls ferry field fields flat flats follow ford fords forest forge
fork forks forges fort freeway garden gardens gateway glen glens grange green greens grove groves harbor
harbour harbors haven heights highway hwy hill hills hollow inlet island islands isle junction junctions
key keys knoll knolls lake lakes land landing lane ln light lights loaf lock locks lodge loop
mall manor manors meadow meadows mews mill mills mission motorway mount mountain mountains neck
orchard oval overpass parade park parks parkway pkwy pass passage path pike pine pines place pl
plain plains plaza point points port ports prairie promenade quay radial ramp ranch rapid rapids
rest ridge ridges rise river road rd roads route row run shoal shoals shore shores skyway spring
springs spur spurs square sq squares station stravenue stream street st streets summit terrace
ter throughway trace track trafficway trail trl tunnel turnpike underpass union unions valley
valleys viaduct view views village villages ville vista walk walks wall way ways well wells
wharf wynd centers circles parkways
access amble approach bowl brace brae broadway brow centreway chase concourse copse cross
cruiseway dell dip edge elbow entrance fairway formation frontage gap glade gully interchange
lookout meander nook outlook pathway pocket quad quadrant quays ramble retreat riviera roadway
rotary serviceway strip top tor vale walkway rue basin triangle boardwalk circus
nagar chowk marg gali colony layout enclave vihar apartments residences zila link via
alleyway anchorage byway circlet colonnade courtyard crossway driveway firetrail footway foreshore
highroad laneway parklands quadrangle ridgeway riverway thoroughfare tollway trunkway
mew cutting distributor range reserve deviation plateau siding slope strand tarn villas wade lees towers
roadside ronde subway gates
""".split()
# Street words that open a continental address; the ambiguous ones ("Via", "Place") must be capitalised.
_STREET_WORDS = (
    r"rue|chemin|callejón|cuesta|rambla|urbanización|vía|av\.?|avda\.?|impasse|allée|quai|"
    r"calle|avenida|paseo|camino|carrera|alameda|ronda|travesía|glorieta|pasaje|viale|piazza|"
    r"piazzale|vicolo|strada|borgo|contrada|canale|incrocio|rotonda|stretto|rua|travessa|"
    r"praça|estrada|rodovia|núcleo|residencial|loteamento|quadra|ulica|ul\.|aleja|al\.|osiedle|"
    r"bulevardul|calea|aleea|splaiul|șoseaua|soseaua|diagonal|c\.|vial|cañada|carretera|bajada|subida|ramal|"
    r"vereda|plazuela|pasadizo|polígono|plac|avinguda|carrer|passeig|chaussée|blv\.|periférico|transversal|"
    r"circunvalación|privada|cerrada|retorno|andador|ladeira|viela|chácara|condomínio|conjunto|esplanada|"
    r"fazenda|jardim|passarela|recanto|sítio|trecho|viaduto|montée|rang|croissant|jalan|jl\.|gg\.|"
    r"psje\.|pje\.|diag\.|pl\.|os\.|nám\.|ruta|rota|autopista|jln\.?|avenue|boulevard|intrarea|piața|drumul|tr\.|tv\.|cr\.|cra\.|kr\.|cl\.|dg\.|allé|peatonal|continuación|calzada|circuito|prolongación|corredor"
)
_CAPITAL_STREET_WORDS = r"Trevo|Pátio|Morro|Área|Colônia|Distrito|Estação|Favela|Feira|Aeroporto|Via|Avenue|Boulevard|Place|Plaza|Plac|Largo|Corso|Route|Vila|Piazza|R\.|Acceso|Sector|Partida|Campo|Lago|Lagoa|Parque|Setor|Vale|Gang"
# Street suffixes of one-word street names ("Friedrichstraße", "Hansenhaugen", "Paulring": "ring" only
# after a consonant no English "-ring" word has there, so not "Spring", "During", "Monitoring").
_SUFFIX_WORDS = """
strasse straße str. weg gasse platz allee damm ufer steig pfad markt chaussee laan straat plein gracht kade dijk singel
baan steeg dreef gatan vägen gränd stigen torget backen gata väg gade vej allé stræde torv veien gate vegen myra løkka
stien bakken svingen alléen berget bråten faret flata gjerdet grenda gropa hagen haugen havna holtet høgda jordet kollen
lunden lyngen marka plassen ringen røa skogen skrenten spranget stranda stubben stykket tjernet toppen tunet vollen åsen
-ring katu tie kuja polku bulevardi väylä rinne ranta tori utca út tér hof pad lei boulevard kaai wal veld kroken
""".split()
_SUFFIXED = rf"{_trie(_SUFFIX_WORDS)}|(?<=[cdfghklmnvwxz])ring"
_UNIT_WORDS = (
    r"apt|apartment|suite|ste|unit|flat|studio|level|fl|floor|piso|puerta|interior|int|piano|scala|nr|no|"
    r"appartamento|interno|apto|dpto|depto|étage|etage|lgh|edif|edificio|dto|torre|local|bl|sc|ap|casa|bloco|lote|"
    r"block|blk|lot|phase|h\.[ ]?no|apartamento|etapa|bodega|oficina|"
    r"room|rm|bldg|building|box|p\.?o\.?[ ]?box|rd|dept"
)
# The word lists above as factored regexes (same words): what the patterns use.
_UNIT_WORDS_RE = _trie(sorted(set(_spellings(_UNIT_WORDS))))
_STREET_WORDS_RE = _trie(sorted({word.lower() for word in _spellings(_STREET_WORDS)}))
_CAPITAL_STREET_WORDS_RE = _trie(sorted(set(_spellings(_CAPITAL_STREET_WORDS))))
_UNIT = (
    rf"(?:(?:(?i:{_UNIT_WORDS_RE})(?:\.[ \t]*|[ \t]+)|Of\.[ \t]*|#[ \t]*)(?:\d[\w-]{{0,5}}|[A-Z]\d{{0,3}})\b"
    r"|\bB\d{1,3}[ \t]+L\d{1,3}\b)"  # block and lot: "B06 L86"
)
_POSTCODE = (
    r"(?:[A-Z]{1,2}-)?(?:\d{7}|\d{5}(?:-?\d{3,4})?|\d{4}-\d{3}|\d{2}-\d{3}|\d{3}[ ]\d{2}|\d{4}[ ]?[A-Z]{2}|\d{4,6})"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}|[A-Z]\d{2}[ ]?[A-Z\d]{4}|[A-Z]\d[A-Z][ ]?\d[A-Z]\d"
)
# Postcodes with letters (Dutch, UK, Canadian), distinct enough to stand on a line of their own.
_LETTERED_POSTCODE = r"\d{4}[ ]?[A-Z]{2}|[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}|[A-Z]\d[A-Z][ ]?\d[A-Z]\d"
_TYPES = rf"(?i:{_trie(_STREET_TYPES)})"
# What names a street outright, where no house number says so.
# Also the USPS street types that are seldom anything but a street ("Koch Tunnel", "Hale Knoll").
_DESIGNATOR_NAMES = (
    "street avenue road lane drive boulevard highway parkway terrace crescent turnpike "
    "alley bayou bluff bluffs burg burgs bypass causeway crossroad expressway freeway glen glens hollow inlet "
    "knoll knolls mews overpass pike plaza prairie ranch shoal shoals skyway spur spurs stravenue throughway "
    "trafficway tunnel underpass viaduct wynd"
).split()
_DESIGNATORS = rf"(?:(?i:{'|'.join(_DESIGNATOR_NAMES)})\b|(?:St|Ave|Rd|Ln|Dr|Blvd|Hwy|Pkwy)\b\.?)"
_NOT_UNIT = r"(?!(?i:apt|apartment|suite|ste|unit|flat|floor|piso|box|phase|block|lot|torre|interior)\b)"  # "montée Jacques Apt. 870": the name ends
# A city, region or country: "St. Jaime", "Mistelbach an der Zaya", "Turks and Caicos Islands".
_ELIDED = rf"(?:[dl]['’])?{_WORD}"  # "Côte d'Ivoire"
_PLACE = rf"(?:(?:St|Ste|Mt|Ft|Pt)\.-?[ \t]*)?{_WORD}(?:[ \t]+(?:{_CONNECTOR}[ \t]+){{0,3}}{_NOT_UNIT}{_ELIDED}){{0,5}}"
_HOUSE = rf"(?:(?:Nr\.|N°|Nº|No\.?|\#)[ \t]*)?(?:{_NUM}|S/N)"  # "N° 141", "# 2-67"; "S/N": sin número, sem número
_TITLE = rf"(?:(?:Dr|Prof|Ir|Hj?|KH|Gral|Pte|Pdte|Cnel|Tte|Gob|Ing)\.|[{_UP}]\.(?:[{_UP}]\.)*)"  # in street names: "Jl. Dr. Djunjunan", "Av. J.B. Alberdi"
# Street types written as a word of their own after the name (Finnish): "Eino Leinon polku 14".
# Also Hungarian, Slovenian, Croatian, Slovak and Czech: "Petőfi utca 80.", "Masarykova cesta 057".
_TYPE_WORDS = (
    r"katu|tie|kuja|polku|bulevardi|väylä|rinne|ranta|tori|aukio|raitti|puistotie|kaari|mäki|tanhua|"
    r"utca|út|tér|körút|köz|sor|sétány|fasor|ulica|cesta|trg|pot|nabrežje|naselje|námestie|náměstí|třída|nábřeží"
)
# Type words that no English sentence uses before a number, so that the name before them may hold
# lower-case words ("Arany jános utca 184."); and Finnish compounds ("Haagan pappilanbulevardi 3").
_LONG_TYPE_WORDS = r"utca|körút|sétány|fasor|ulica|nabrežje|naselje|námestie|náměstí|třída|nábřeží|katu|kuja|polku|bulevardi|väylä"
# The word lists above as factored regexes (same words): what the patterns use.
_TYPE_WORDS_RE = _trie(_TYPE_WORDS.split("|"))
_LONG_TYPE_WORDS_RE = _trie(_LONG_TYPE_WORDS.split("|"))
_COMPOUND_TYPES = r"katu|kuja|polku|bulevardi|väylä"
# Plural street types that name a street without a number ("the north side of Brown Parkways").
_PLURAL_TYPES = (
    r"(?:(?i:parkways|roads|manors|points|circles|centers|squares|springs|heights|gardens|meadows|ridges|groves|terraces|crescents|lanes|avenues|streets)\b)"
)

# Words that start a sentence, not a street name: "We have 12, 4031 Failed".
_CAPITAL_STOP_WORDS = _trie([w.capitalize() for w in STOP_WORDS if w.isalpha()])
# A lower-case word that is no English stop word: "Arany jános utca", not "Pickup from Jarčeva ulica".
_NOT_STOP_WORD = rf"(?!{_trie([w for w in STOP_WORDS if w.isalpha()])}\b)"
# US and Australian states and territories.
_KNOWN_STATES = "|".join(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP FM MH PW NSW VIC QLD SA TAS NT ACT".split()
)
# A house number after the street word and name of a number-first line, before a comma (Malaysia):
# "49, Jalan Kuching 8/44, Taman Genting", "53, Jalan 5/12x, PJU69m".
_TRAILING_NUM = r"[ \t]+\d{1,3}(?:/\d{1,3})?[A-Za-z]?(?=,)"
# The end of a word that is no month's name (as a lookbehind, each name of fixed width).
_MONTHS = "January February March April May June July August September October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec"
_NOT_AFTER_MONTH = "".join(rf"(?<!\b{month})" for month in _MONTHS.split())
# The forms of a street line, each with whether it can only start at a capital (see _STARTS).
_FORMS: tuple[tuple[bool, str], ...] = (
    # Number first: "1423 Wagner Mountain", "Flat 00, Davies Land", "84, chemin de Guillaume".
    (
        False,
        rf"(?:(?:{_UNIT}(?:,?[ \t]+|[ \t]*\n[ \t]*)){{1,2}}(?:{_NUM},?[ \t]+)?|(?<![\w.,/-]){_NUM},?[ \t]+)(?:(?:{_WORD}|{_PARTICLE}|\d{{1,3}}(?:st|nd|rd|th))[ \t]+){{1,4}}?{_TYPES}\b\.?(?:[ \t]+{_TYPES}\b\.?)?",
    ),
    (
        False,
        rf"(?:{_UNIT}|(?<![\w.,/-]){_NUM}),?[ \t]+(?i:{_STREET_WORDS_RE}|{_CAPITAL_STREET_WORDS_RE})"
        rf"(?:(?:[ \t]+(?:{_PARTICLE}|{_NOT_UNIT}{_WORD})){{1,4}}(?:{_TRAILING_NUM})?|{_TRAILING_NUM})",
    ),
    # Street word first: "Via Roma 12", "ul. Mazurska 37/16", "Viale Allegra, 23".
    (
        False,
        rf"(?:\b(?i:{_STREET_WORDS_RE})|\b(?:{_CAPITAL_STREET_WORDS_RE}))(?:[ \t]+(?:{_PARTICLE}|{_ELIDED}|{_TITLE}|\d{{1,3}}[a-zA-Zª]?(?=[ \t]+(?:N|\#)))){{1,6}}?(?:[ \t]+\({_PLACE}\))?,?[ \t]+{_HOUSE}(?![\w/])"
        rf"(?:[ \t]+\d{{1,4}}\b)?(?:[ \t]+(?:Este|Oeste|Sur|Norte|Bis)\b)?",
    ),
    # A street type as a word of its own: "Ida Ekmanin bulevardi 930".
    (True, rf"\b(?:{_WORD}[ \t]+){{1,3}}(?:{_TYPE_WORDS_RE}|Allé)[ \t]+{_NUM}\b\.?"),
    (True, rf"\b{_WORD}[ \t]+(?:(?:{_WORD}|{_NOT_STOP_WORD}[{_LOW}]+)[ \t]+){{0,2}}(?:{_LONG_TYPE_WORDS_RE})[ \t]+{_NUM}\b\.?"),
    (True, rf"\b{_WORD}[ \t]+[{_LOW}]+(?:{_COMPOUND_TYPES})[ \t]+{_NUM}\b"),
    # Czech streets, named by an adjective or after a preposition: "Vizovická 12", "Durychova 3",
    # "Komenského Nám. 5", "Nad Zámečkem 12".
    (
        True,
        rf"\b(?:(?:Na|Nad|Pod|Ke|Za|Ve|U|K)[ \t]+(?:{_WORD}[ \t]+){{0,2}}{_WORD}|[{_UP}][{_LOW}]++(?:(?<=ská|cká|ová|ého|ské|ých)|(?<=[^n]ova)|(?<=ní|ná|cí)|(?<=ů)))"
        rf"(?:[ \t]+Nám\.)?[ \t]+{_NUM}\b",
    ),
    # A route and a kilometre mark: "Ruta 5 Sur, km 496", "Ruta T-26, km 14", "Rodovia BR-101, km 12".
    (
        False,
        r"\b(?:(?i:ruta|rota|carretera|autopista|rodovia)|Route)[ \t]+(?:[A-Z]{1,3}-?)?\d{1,4}(?:[ \t]+(?:Sur|Norte|Este|Oeste|Nord|Sud))?"
        r",?[ \t]+(?i:km)\.?[ \t]*\d{1,4}(?:[.,]\d{1,3})?\b",
    ),
    # A house number of South Asia, before the places of the address: "House No. 80, AnwarCenter, Barisal, 9403".
    (True, rf"\b(?:{_UNIT},?[ \t]+)?(?:House|Plot|Holding|Building|Flat|Door)[ \t]+(?:No|N[º°])\.?[ \t]*{_NUM}(?=,[ \t]*{_WORD})"),
    # Post-office boxes and rural routes: "PO Box 92", "Postfach 1234", "Apartado 45".
    (
        True,
        r"\b(?:(?:R\.[ ]?R\.|RR|Rural[ ]Route|HC|H\.[ ]?C\.|Star[ ]Route)[ \t]+\d{1,3},?[ \t]+Box|P\.?[ ]?O\.?[ ]?Box|Post[ ]?(?:Office[ ]?)?Box|Postfach|Apartado(?:[ ]de[ ]Correos)?|Caixa[ ]Postal|Case[ ]postale|Boîte[ ]postale)[ \t]+\d{1,6}\b",
    ),
    # One word ending in a street suffix: "Friedrichstraße 12", "Parkvägen 14".
    (True, rf"\b(?:(?!{_CAPITAL_STOP_WORDS}\b){_WORD}[ \t]+){{0,2}}[{_UP}][{_UP}{_LOW}'-]*(?i:{_SUFFIXED})\.?[ \t]+{_NUM}\b"),
    # Any capitalised name and number, confirmed by a postcode and city on the same or next lines
    # (a postcode with letters on a line of its own: "Benring 993\n4732SC\nVierhuizen").
    # Not a date: "born on May 5, 1990 In Paris".
    (True, rf"\b{_PLACE}{_NOT_AFTER_MONTH}[ \t]+{_NUM}(?=[ \t]*(?:,[ \t]*|\n[ \t]*)(?:(?:{_POSTCODE}),?[ \t]+|(?:{_LETTERED_POSTCODE})[ \t]*\n[ \t]*){_WORD})"),
    # ... or, for a name and lower-case words or initials, by a postcode (not a year) and city after a comma
    # or on the next line: "Krvavi most 1c, 54447 Trilj", "Pod akacijami 1\n8139 Kostanjevica na Krki", "Dlhé diely I. 80, 881 35 Podkylava".
    (
        True,
        rf"\b(?!{_CAPITAL_STOP_WORDS}\b){_WORD}(?:[ \t]+(?:[{_LOW}]+|[{_UP}]\.)){{1,2}}[ \t]+{_NUM}(?=[ \t]*(?:,[ \t]*|\n[ \t]*)(?!(?:19|20)\d\d\b)(?:{_POSTCODE}),?[ \t]+{_WORD})",
    ),
    # ... or by a commune and a region (Chile): "Caupolicán 697, Algarrobo, Región de Valparaíso".
    (True, rf"\b{_PLACE}[ \t]+{_NUM}(?:[ \t]+{_UNIT})?(?=(?:,[ \t]*|\n[ \t]*){_PLACE},[ \t]*(?:Región|Provincia)\b)"),
    # A street word and a name, confirmed by a postcode and city, on the next line or the one after a
    # line of a place: "avenue Chatriand\n2419 Carraux", "Chácara Lopes\nVale Do Jatoba\n98325991 da Conceição".
    # ... or by a city and a postcode: "Strada Georgescu, Chitila, 437860".
    (
        False,
        rf"\b(?i:{_STREET_WORDS_RE}|{_CAPITAL_STREET_WORDS_RE})(?:[ \t]+(?:{_PARTICLE}|{_WORD})){{1,5}}"
        rf"(?=[ \t]*(?:,[ \t]*|\n[ \t]*)(?:{_PLACE}[ \t]*\n[ \t]*)?(?:(?:{_POSTCODE}),?[ \t]+(?:{_PARTICLE}[ \t]+)?{_WORD}|{_PLACE},[ \t]*(?:{_POSTCODE})(?!\d)))",
    ),
    # A number and any name, confirmed by a town, a known state and a postcode (not a year):
    # "5 Howell Mew, West Davidtown, SA, 2136", "Unit 3 8 Allen Steps, Port Ellen, QLD, 6287".
    (
        False,
        rf"(?:(?:{_UNIT}[ \t]+){{1,2}})?(?<![\w.,/-]){_NUM}[ \t]+(?:{_WORD}[ \t]+){{0,2}}{_WORD}"
        rf"(?=(?:,[ \t]*|[ \t]*\n[ \t]*){_PLACE},?[ \t]+(?:{_KNOWN_STATES}),?[ \t]+(?!(?:19|20)\d\d\b)\d{{4,5}}\b)",
    ),
    # A unit on a line of its own, above the rest of the address: "Apt. 617\nMainburg\nYemen 88929".
    (False, rf"(?:(?<=\n)|^)[ \t]*{_UNIT}(?=[ \t]*\n)"),
    # US military addresses.
    (True, r"\b(?:PSC|CMR|Unit)[ \t]+\d{3,5},?[ \t]+(?i:Box)[ \t]+\d{3,5}(?:,[ \t]*|\n[ \t]*|[ \t]+)(?:APO|FPO|DPO)[ \t]+A[AEP][ \t]+\d{5}\b"),
    (True, rf"\b(?:USNS|USS|USNV|USCGC)[ \t]+{_WORD}(?:[ \t]+{_WORD}){{0,2}}(?:,[ \t]*|\n[ \t]*|[ \t]+)(?:FPO|APO)[ \t]+A[AEP][ \t]+\d{{5}}\b"),
)
_STREET_LINES = regexcache.compile("|".join(form for _, form in _FORMS))
# The forms that start at a capital letter, in the same order: what _STREET_LINES finds at a
# position where no other form can start.
_CAPITAL_LINES = regexcache.compile("|".join(form for capital, form in _FORMS if capital))

# A named street without a number, after a preposition: "on Juan Course St.", "corner of Smith Greens St.".
_NAMED_STREET = regexcache.compile(
    rf"(?:(?<=\bon )|(?<=\bat )|(?<=\bof )|(?<=\bnear )|(?<=\boff )|(?<=\balong )|(?<=\band )|(?<=\binto )|(?<=\bonto ))"
    rf"(?!(?:The|A|An|This|That|Our|My|Your|Their|His|Her)\b)(?:{_WORD}[ \t]+){{1,3}}(?:(?:{_TYPES}[ \t]+)?{_DESIGNATORS}|{_PLURAL_TYPES})"
)

# Where a street line can start, so that _STREET_LINES is tried only there: tried at every
# character, its case-blind word alternations cost about a microsecond each. Its forms start at a
# house number, a "#" or "B<digit>" (a unit), an indented line (a unit line), "US" (ships), a unit
# word before "." or a blank (anywhere, as in _UNIT) or a street word before a blank at a word
# start; the rest (_CAPITAL_LINES) at a capital that a run of name characters joins to a blank and
# a digit ("Friedrichstraße 12", "Eino Leinon katu 3", "PO Box 9", "PSC 1234", "Olympijská 1, ...").
_STARTS = regexcache.compile(r"\d(?<![\w.,/-]\d)(?=\d{0,4}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?)?,?[ \t]+[^\W_])|\n(?=[ \t])|\#|B(?<!\wB)(?=\d)|\bUS")
# What the capital forms hold before their "[ \t]+<digit>": letters, and what a case-blind letter
# also matches (sharp S, Kelvin and Angstrom signs), "'’.&-" and blanks.
_NAME_CHARS = rf"{_UP}{_LOW}\u1e9e\u212a\u212b'’.&\- \t"
_NAME_RUNS = regexcache.compile(rf"(?<![{_NAME_CHARS}])[{_NAME_CHARS}]++(?<=[ \t])(?=\d)")
_CAPITALS = regexcache.compile(rf"[{_UP}](?<!\w[{_UP}])")
_WORD_CHAR = regexcache.compile(r"\w")


_UNIT_SPELLINGS = ahocorasick_rs.AhoCorasick(sorted({*_spellings(_UNIT_WORDS), "of."}))  # "Of." (oficina) as in _UNIT
_STREET_SPELLINGS = ahocorasick_rs.AhoCorasick(sorted({word.lower() for word in _spellings(f"{_STREET_WORDS}|{_CAPITAL_STREET_WORDS}")}))
# Characters that a case-blind match equates with a letter of those words although lower() does not
# (long s, dotless i; dotted capital I lower-cases to two characters): such text is scanned whole.
_ODD_CASE = regexcache.compile("[\u017f\u0131\u0130]")


def _word_starts(text: str, lower: str) -> list[int]:
    """Where a unit word or a street word of _STREET_LINES can start in text (lower: text.lower())."""
    starts = [start for _, start, end in _UNIT_SPELLINGS.find_matches_as_indexes(lower, overlapping=True) if lower[end : end + 1] in (".", " ", "\t")]
    starts += [
        start
        for _, start, end in _STREET_SPELLINGS.find_matches_as_indexes(lower, overlapping=True)
        if lower[end : end + 1] in (" ", "\t") and not (start and _WORD_CHAR.match(text, start - 1))
    ]
    return starts


def _lower(text: str) -> str | None:
    """text.lower() when a case-blind match of those words in text is a plain match in it, else None."""
    lower = text.lower()
    return lower if len(lower) == len(text) and _ODD_CASE.search(text) is None else None


def street_lines(text: str, lower: str | None) -> list[re.Match[str]]:
    """The matches of _STREET_LINES in text, as finditer gives them, tried only where one can start
    (lower: ``_lower(text)``)."""
    if lower is None:
        return list(_STREET_LINES.finditer(text))
    starts = set(_word_starts(text, lower))
    starts.update(match.end() if match.group() == "\n" else match.start() for match in _STARTS.finditer(text))
    if text[:1] in (" ", "\t"):
        starts.add(0)  # a unit line's indent
    capitals = {m.start() for run in _NAME_RUNS.finditer(text) for m in _CAPITALS.finditer(text, run.start(), run.end())}
    found: list[re.Match[str]] = []
    end = 0
    for start in sorted(starts | capitals):
        if start < end:
            continue
        match = (_STREET_LINES if start in starts else _CAPITAL_LINES).match(text, start)
        if match is not None:
            found.append(match)
            end = match.end()
    return found


# A named street needs one of these words, and starts after one of these prepositions.
_DESIGNATOR_WORDS = tuple(_DESIGNATOR_NAMES + "manors points circles centers squares springs heights gardens meadows ridges groves".split())
_DESIGNATOR_SPELLINGS = ahocorasick_rs.AhoCorasick(_DESIGNATOR_WORDS)
_DESIGNATOR_ABBREVIATIONS = regexcache.compile(r"\b(?:St|Ave|Rd|Ln|Dr|Blvd|Hwy|Pkwy)\b")
_PREPOSITIONS = regexcache.compile(r"\b(?:on|at|of|near|off|along|and|into|onto) ")


def named_streets(text: str, lower: str | None) -> list[re.Match[str]]:
    """The matches of _NAMED_STREET in text, as finditer gives them, tried only where one can start
    (lower: ``_lower(text)``)."""
    if lower is None:
        return list(_NAMED_STREET.finditer(text))
    if not _DESIGNATOR_SPELLINGS.find_matches_as_indexes(lower) and _DESIGNATOR_ABBREVIATIONS.search(text) is None:
        return []
    found: list[re.Match[str]] = []
    end = 0
    for preposition in _PREPOSITIONS.finditer(text):
        if preposition.end() >= end and (match := _NAMED_STREET.match(text, preposition.end())) is not None:
            found.append(match)
            end = match.end()
    return found


# A street named by any street type ("Koch Tunnel", "Young Point") after words that place someone
# or something on a street: "lives on", "the north side of", "the corner of", "turned onto".
_CUES = [
    *(f"{verb} {preposition}" for verb in "live lives living lived located situated house home".split() for preposition in ("on", "at", "along", "off")),
    "side of",
    "corner of",
    "intersection of",
    *(
        f"{verb} {preposition}"
        for verb in "walk walked walking drive drove driving head headed heading turn turned turning".split()
        for preposition in ("down", "along", "onto", "into", "up")
    ),
    # ... or that give it as where something goes: "my address is Harmon Underpass", "ship it to Mary Trail".
    *"address is|address:|ship to|ship it to|shipped to|deliver to|deliver it to|delivered to|send it to|mail it to|post it to".split("|"),
    *"forward it to|reside at|resides at|residing at".split("|"),
]
_CUE_PHRASES = ahocorasick_rs.AhoCorasick(_CUES)
_CUED_STREET = regexcache.compile(rf"[ \t]+(?!(?:The|A|An|This|That|Our|My|Your|Their|His|Her)\b)((?:{_WORD}[ \t]+){{1,3}}{_TYPES}\b)(?![ \t]*[{_UP}\d])")


def cued_streets(text: str) -> list[tuple[int, int]]:
    """Spans of streets named after a phrase that places someone on them (_CUES)."""
    spans = []
    for _, start, end in _CUE_PHRASES.find_matches_as_indexes(text):
        if not (start and _WORD_CHAR.match(text, start - 1)) and (match := _CUED_STREET.match(text, end)) is not None:
            spans.append(match.span(1))
    return spans


# A French street without a number, after its street word: "rue Reynaud", "avenue Éléonore Pottier",
# "Rue de la Paix" (capitalised only before a particle: "Rue McClanahan" is a name).
_FRENCH_STREET_WORDS = ("rue", "chemin", "impasse", "allée", "quai", "avenue", "boulevard")
_FRENCH_STREET = regexcache.compile(
    rf"(?<![\w-])(?:(?:{'|'.join(_FRENCH_STREET_WORDS)})|(?:{'|'.join(w.capitalize() for w in _FRENCH_STREET_WORDS)})(?=[ \t]+(?:de|du|des|la|le|[dl]['’])))"
    rf"(?:[ \t]+(?:(?:{_PARTICLE})[ \t]+|[dl]['’])*{_WORD}){{1,4}}"
)

_FRENCH_SPELLINGS = ahocorasick_rs.AhoCorasick([f"{word} " for word in _FRENCH_STREET_WORDS])


def french_streets(text: str, lower: str | None) -> list[tuple[int, int]]:
    """Spans of French streets named without a number (_FRENCH_STREET)."""
    if lower is not None and not _FRENCH_SPELLINGS.find_matches_as_indexes(lower):
        return []
    return [match.span() for match in _FRENCH_STREET.finditer(text)]


# A street named by any street type right before a comma and its town: "Amy Pass, Bastremoli, MS 55125",
# "Cynthia Street, Poysdorf", "Ware Mission, Sri Lanka". The town is one an address form found, or a known place.
_TYPE_COMMAS = ahocorasick_rs.AhoCorasick(sorted({f"{word}{dot}," for word in _STREET_TYPES for dot in ("", ".")}))
_NAMED_BEFORE = regexcache.compile(rf"(?<![\w'’.-])(?!{_CAPITAL_STOP_WORDS}\b)(?:{_WORD}[ \t]+){{1,3}}{_TYPES}\.?\Z")
_PLACE_AFTER = regexcache.compile(rf",[ \t]*({_PLACE})")
_LOOK_BACK = 80  # characters before a street type where its name may start


def _known_place(name: str, is_place: Callable[[str], bool]) -> bool:
    """Whether `name` or its first words are a known place ("Sri Lanka your" -> "Sri Lanka")."""
    words = name.split()
    return any(is_place(" ".join(words[:n])) for n in range(len(words), 0, -1))


def streets_before_towns(text: str, lower: str | None, town_starts: set[int], is_place: Callable[[str], bool] | None) -> list[tuple[int, int]]:
    """Spans of named streets (_NAMED_BEFORE) followed by a comma and a town (see above)."""
    if lower is None:
        return []  # odd case mappings: the offsets of lower() are not those of text
    spans = []
    for _, start, end in _TYPE_COMMAS.find_matches_as_indexes(lower):
        if start and _WORD_CHAR.match(text, start - 1):
            continue
        street = _NAMED_BEFORE.search(text, max(0, start - _LOOK_BACK), end - 1)
        town = _PLACE_AFTER.match(text, end - 1)
        if street is None or town is None:
            continue
        if town.start(1) in town_starts or (is_place is not None and _known_place(town.group(1), is_place)):
            spans.append((street.start(), end - 1))
    return spans


# A street named after a person, its street type, then the house number: "Collier Dale 2243",
# "Gonzales Ways 436, Gloggnitz" (every word before the type a first or last name: not "Data Lake 2").
_TYPE_SPACES = ahocorasick_rs.AhoCorasick(sorted({f"{word}{dot} " for word in _STREET_TYPES for dot in ("", ".")}))
_HOUSE_AFTER = regexcache.compile(rf"{_NUM}\b(?![.,:/]?\d|[ \t]*%)")


def streets_after_people(text: str, lower: str | None, is_name: Callable[[str], bool] | None) -> list[tuple[int, int]]:
    """Spans of a person's name, a street type and a house number (see above)."""
    if lower is None or is_name is None:
        return []
    spans = []
    for _, start, end in _TYPE_SPACES.find_matches_as_indexes(lower):
        if (start and _WORD_CHAR.match(text, start - 1)) or not text[end : end + 1].isdigit():
            continue
        street = _NAMED_BEFORE.search(text, max(0, start - _LOOK_BACK), end - 1)
        house = _HOUSE_AFTER.match(text, end)
        # Every word of the name a name: not "Canada Post Summit 800" (a firm's product).
        if street is not None and house is not None and all(is_name(word) for word in text[street.start() : start].split()):
            spans.append((street.start(), house.end()))
    return spans


# A US town, state and ZIP code with no street before them: "Lake Mary, FL 32746".
_US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP FM MH PW AA AE AP"
).split()
_STATE_ZIP = regexcache.compile(r"[A-Z][ \t]+\d{5}")  # what every such line holds
_TOWN_STATE_ZIP = regexcache.compile(rf"\b{_PLACE},?[ \t]+(?:{'|'.join(_US_STATES)})[ \t]+\d{{5}}(?:-\d{{4}})?\b")


def town_state_zips(text: str) -> list[tuple[int, int]]:
    """Spans of US town, state and ZIP lines (_TOWN_STATE_ZIP); only text with a state and a ZIP is scanned."""
    if _STATE_ZIP.search(text) is None:
        return []
    return [match.span() for match in _TOWN_STATE_ZIP.finditer(text) if not _is_common_word(match.group())]


_ASCII_DIGIT = regexcache.compile(r"[0-9]")


def _has_digit(text: str) -> bool:
    if text.isascii():
        return _ASCII_DIGIT.search(text) is not None
    return any(ch.isdigit() for ch in text)


# A state or province: "WV", "CAMP", "Q. ROO".
_STATE = r"(?:[A-Z]\.[ ]?)?[A-Z]{2,4}"
# A lower-case last word of a city that ends its line or field: "8225 Novo mesto" in a field or on its line.
_LOWER_LAST = rf"(?:[ \t]+[{_LOW}]{{3,}}(?=[ \t]*[\n\")]))?"
# The articles of Dutch place names: "'s-Hertogenbosch", "'t Haantje".
_DUTCH_ARTICLE = r"['’][st][- ]"
# What may follow a street line, one part at a time.
_SEPARATOR = regexcache.compile(r"[ \t]*,[ \t]*|[ \t]*\n(?:[ \t]*\n)?(?:[ \t]*>)*[ \t]*|[ \t]+")  # "> " quotes a reply; one blank line
_TAIL_PARTS = regexcache.compile(
    "|".join(
        (
            rf"(?P<unit>{_UNIT}(?:[ \t]+{_UNIT})?)",
            rf"(?P<postal_city>(?:{_POSTCODE})(?!\d),?[ \t]+(?:{_PARTICLE}[ \t]+|{_DUTCH_ARTICLE})?{_PLACE}(?:[ \t]+\d{{1,2}}(?=,))?(?:/{_WORD})?{_LOWER_LAST}(?:[ \t]*\([A-Z]{{2}}\)|[ \t]*/[ \t]*[A-Z]{{2}}|[ \t]*\((?:[{_LOW}]+[ \t]+)?{_PLACE}\))?)",
            rf"(?P<city_postal>{_PLACE}(?:[ \t]+(?:los|las|del|de)[ \t]+[{_LOW}]+)?(?:[ \t]*\({_PLACE}\))?(?:,?[ \t]+(?:{_STATE},?[ \t]+)?(?:{_POSTCODE})|-\d{{6}})(?!\d))",  # "Sikar-648343": an Indian PIN
            rf"(?P<state_zip>{_STATE},?[ \t]+(?:{_POSTCODE})(?!\d))",
            rf"(?P<street>{_NUM}(?:st|nd|rd|th)?[ \t]+(?:{_WORD}[ \t]+){{0,3}}{_TYPES}\b)",
            rf"(?P<postcode>{_POSTCODE})\b",
            r"(?P<state>[A-Z]{2,3})\b",
            rf"(?P<place>(?:{_PARTICLE}[ \t]+|{_DUTCH_ARTICLE})?{_PLACE}(?:[ \t]+in[ \t]+{_WORD}(?=[ \t]*\n))?(?:[ \t]+\d{{1,2}}[ªºao][ \t]+{_WORD})?(?!\.[{_UP}{_LOW}])(?:[ \t]*\((?:[A-Z]{{2}}|{_PLACE})\)|[ \t]*/[ \t]*[A-Z]{{2}}\b|[ \t]+\d{{1,2}}(?=,))?)",  # "Seksyen 5, Sabah"
        )
    )
)
_NOT_PLACE_WORDS = frozenset(STOP_WORDS) | frozenset(
    "thanks thank please regards best cheers sincerely hi hello dear tel phone mobile fax email e-mail office".split()
)
_MAX_PARTS = 6
_STRONG_PARTS = frozenset({"postal_city", "city_postal", "state_zip", "postcode"})
_LINE_END = regexcache.compile(r"[ \t]*[.!?;]?[ \t]*(?:,|\n|$)")


def _is_common_word(text: str) -> bool:
    return text.split()[0].lower().strip(".,") in _NOT_PLACE_WORDS


_LETTERED = regexcache.compile(_LETTERED_POSTCODE)
_ENDS_WITH_POSTCODE = regexcache.compile(r",[ \t]*\d{4,6}$")


def _grow(text: str, start: int, end: int) -> int:
    """The end of the address whose street line is text[start:end]."""
    # "rue de Müller, 7110 Thorens": the street line took the postcode as its house number.
    after_postcode = _ENDS_WITH_POSTCODE.search(text, start, end) is not None
    bare_postcode = after_postcode  # a postcode without its city: the city may be on the next line
    after_unit = False
    for _ in range(_MAX_PARTS):
        sep = _SEPARATOR.match(text, end)
        if sep is None:
            break
        part = _TAIL_PARTS.match(text, sep.end())
        if part is None:
            break
        kind, value = part.lastgroup, part.group()
        across_lines = "\n" in sep.group()
        spaced = "," not in sep.group() and not across_lines
        if kind in ("place", "city_postal") and _is_common_word(value):
            break
        if across_lines and kind not in _STRONG_PARTS and not bare_postcode and not _LINE_END.match(text, part.end()):
            break  # across a line break, a weak part only when it fills its line or follows a bare postcode
        if spaced and kind in ("place", "state") and not (after_postcode or after_unit):
            break  # "12 Baker Street Cafe": a place after a space only follows a postcode or a unit
        end = part.end()
        after_postcode = kind in ("postcode", "postal_city", "state_zip", "city_postal")
        bare_postcode = kind == "postcode" or (kind == "postal_city" and _LETTERED.fullmatch(value) is not None)  # "1644 HE"
        after_unit = kind == "unit"
    return end


# Line breaks written as the two characters "\\n" (text that was JSON-escaped twice), and what
# quotes a line ("> ", ">", "| ", "??? " where a mail client lost the characters).
_ESCAPED_BREAK = regexcache.compile(r"\\n")
_LINE_PREFIX = regexcache.compile(r"(?m)^[ \t]*[>|?]+")


def _line_view(text: str) -> str:
    """`text` with escaped line breaks as real ones and line prefixes blanked; same offsets."""
    if "\\n" in text:
        text = _ESCAPED_BREAK.sub(" \n", text)
    return _LINE_PREFIX.sub(lambda m: " " * len(m.group()), text)


# A known place and a postcode (not a year) that ends a line, a field or a clause, as the last
# line of an address whose street went unseen or as a city on its own: "Chile 77705",
# "Antarctica (the territory South of 60 deg S) 68287", "Paris 75001.".
_PLACE_POSTCODE = regexcache.compile(
    rf"(?<![\w-])(?P<place>{_PLACE})(?:[ \t]*\([^()\n]{{1,60}}\))?[ \t]+(?!(?:19|20)\d\d\b)\d{{4,6}}(?![\w-])"
    r"(?=[ \t]*(?:[.,;:!?)\n\"]|$)|[ \t]+(?:please|pls|plz|thanks|thank[ ]you|thx|asap)\b)"  # "Paris 75001 please"
)

# What every such match ends with: a quick test before the scan.
_POSTCODE_AT_END = regexcache.compile(r"[ \t]\d{4,6}(?![\w-])(?=[ \t]*(?:[.,;:!?)\n\"]|$)|[ \t]+(?:please|pls|plz|thanks|thank[ ]you|thx|asap)\b)")


def place_postcodes(text: str, is_place: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Spans of a place (``is_place``, or its last words) and a postcode (_PLACE_POSTCODE)."""
    if _POSTCODE_AT_END.search(text) is None:
        return []
    spans = []
    for match in _PLACE_POSTCODE.finditer(text):
        start = match.start("place")
        while start >= 0 and not is_place(text[start : match.end("place")]):
            blank = text.find(" ", start, match.end("place"))
            start = blank + 1 if blank >= 0 else -1
        if start >= 0:
            spans.append((start, match.end()))
    return spans


# A postcode (not a year) beside a place another detector found: "Horgen 84997", "02337 Aune",
# "Göteborg, 26740", "Paris 75001 please". Not a decimal, a percentage or part of a longer number.
_DIGIT_POSTCODE = r"(?!(?:19|20)\d\d\b)(?:\d{5}-\d{4}|\d{4}-\d{3}|\d{2}-\d{3}|\d{4,6})(?![\w-]|[.,:/]\d|[ \t]*%)"
_POSTCODE_AFTER = regexcache.compile(rf"(?:,[ \t]*|[ \t]+){_DIGIT_POSTCODE}")
_POSTCODE_BEFORE = regexcache.compile(rf"(?<![\w.,/:-]){_DIGIT_POSTCODE}[ \t]+\Z")


def with_postcode(text: str, start: int, end: int) -> tuple[int, int]:
    """The place text[start:end] with a postcode right after or before it (see above)."""
    after = _POSTCODE_AFTER.match(text, end)
    if after is not None:
        end = after.end()
    before = _POSTCODE_BEFORE.search(text, max(0, start - 16), start)
    return (before.start() if before is not None else start), end


class AddressRecognizer:
    """Whole postal addresses as LOCATION findings; with ``is_place`` (the gazetteer's places and
    countries), also a known place and its postcode; with ``is_name`` (its first and last names),
    also a street named after a person before its house number."""

    def __init__(self, is_place: Callable[[str], bool] | None = None, is_name: Callable[[str], bool] | None = None) -> None:
        self._is_place = is_place
        self._is_name = is_name

    def analyze(self, text: str) -> list[RecognizerResult]:
        text = _line_view(text)
        lower = _lower(text)
        spans = [match.span() for match in named_streets(text, lower)] + cued_streets(text) + french_streets(text, lower)
        if _has_digit(text) or "S/N" in text:  # every other form has a number, or "S/N" (no number)
            spans += [match.span() for match in street_lines(text, lower)] + town_state_zips(text)
            spans += streets_after_people(text, lower, self._is_name)
            if self._is_place is not None:
                spans += place_postcodes(text, self._is_place)
        spans += streets_before_towns(text, lower, {start for start, _ in spans}, self._is_place)
        results: list[RecognizerResult] = []
        last_end = -1
        for match_start, match_end in sorted(spans, key=lambda span: (span[0], -span[1])):
            if match_start < last_end:
                continue
            end = _grow(text, match_start, match_end)
            street = text[match_start:match_end]
            start = match_start + len(street) - len(street.lstrip())  # a unit line's indent
            results.append(RecognizerResult(ENTITY, start, end, 0.7))
            last_end = end
        return results
