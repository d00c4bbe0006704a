"""Whole postal addresses: rows whose whole address must be found, and benign twins that must survive."""

from __future__ import annotations

import re

import pytest

from bench.common import Source, content_texts
from bench.eval import addresses_dev
from bench.eval.evaluate import SOURCES, comparison_rows
from bench.mixed import MIXED
from bench.workload import DEFAULT_SEED, REALISTIC, UNIQUE
from redactors import addresses
from redactors.addresses import AddressRecognizer
from redactors.normalize import normalize

FOUND = [
    # (text, the whole address)
    # Lines broken by an escaped "\\n", quoted with "??? ", one blank line before the country.
    pytest.param(
        "Mario Hudson\\n\\n4590 Paige Ports\\n Apt. 159\\n Jasło\\n\\n Papua New Guinea 09493",
        "4590 Paige Ports\\n Apt. 159\\n Jasło\\n\\n Papua New Guinea 09493",
        id="escaped-line-breaks",
    ),
    pytest.param(
        "??? Flor Nogueira\n??? 52390 Taylor Knoll\n??? Apt. 508\n??? Ordingen\n??? Ecuador 68358",
        "52390 Taylor Knoll\n??? Apt. 508\n??? Ordingen\n??? Ecuador 68358",
        id="line-prefixes",
    ),
    pytest.param("Vineta Zvirbule\n6191 Young Extensions\nGonzalezfort, ID 89304", "6191 Young Extensions\nGonzalezfort, ID 89304", id="plural-street-type"),
    pytest.param(
        "ship to 1423 Wagner Mountain Apt. 039, North Henryview, WV 17935 please", "1423 Wagner Mountain Apt. 039, North Henryview, WV 17935", id="us-one-line"
    ),
    pytest.param("090 Mccoy Ranch Suite 395, Burkestad", "090 Mccoy Ranch Suite 395, Burkestad", id="us-suite-city"),
    pytest.param(
        "Billing:\n  59593 Megan Fall Suite 343\n  Laurieton\n  IL\n  57880\n", "59593 Megan Fall Suite 343\n  Laurieton\n  IL\n  57880", id="us-lines"
    ),
    pytest.param("visit 221B Baker Street, London NW1 6XE today", "221B Baker Street, London NW1 6XE", id="uk-postcode"),
    pytest.param("Flat 8\nHale Burgs\nLake Edward\nG1U 0DD", "Flat 8\nHale Burgs\nLake Edward\nG1U 0DD", id="uk-flat-lines"),
    pytest.param("at Studio 53, Debra Rapid, North Tracey, S5T 9HR after", "Studio 53, Debra Rapid, North Tracey, S5T 9HR", id="uk-studio"),
    pytest.param("is 65 O'Gara Street W47 PYAW Eileen Ville if", "65 O'Gara Street W47 PYAW Eileen Ville", id="ie-eircode"),
    pytest.param("Unit 17 669 Heather Follow\nEast Rachel, ACT, 2008", "Unit 17 669 Heather Follow\nEast Rachel, ACT, 2008", id="au-unit"),
    pytest.param("33 Mokoroto Beach Road, RD 6, Taumaunga 4789", "33 Mokoroto Beach Road, RD 6, Taumaunga 4789", id="nz-rural-delivery"),
    pytest.param("moved to Hafnerstrasse 42\n3477 Rheinfelden if", "Hafnerstrasse 42\n3477 Rheinfelden", id="ch-lines"),
    pytest.param("left at Darko-Heinrich-Allee 5/9 instead", "Darko-Heinrich-Allee 5/9", id="de-hyphenated"),
    pytest.param("to 84, chemin de Guillaume\n18641 Rodrigues-sur-Fournier.", "84, chemin de Guillaume\n18641 Rodrigues-sur-Fournier", id="fr-lines"),
    pytest.param("to avenue Chatriand\n2419 Carraux-Dessous. Please", "avenue Chatriand\n2419 Carraux-Dessous", id="fr-ch-no-number"),
    pytest.param("Calle Nico Bru 429 Puerta 9 \nMurcia, 26573.", "Calle Nico Bru 429 Puerta 9 \nMurcia, 26573", id="es-door"),
    pytest.param("to Borgo Natalia, 80, 80028, Grumo Nevano (NA).", "Borgo Natalia, 80, 80028, Grumo Nevano (NA)", id="it-province"),
    pytest.param("Av Mia Coelho, 933\n8733-326 Mirandela", "Av Mia Coelho, 933\n8733-326 Mirandela", id="pt-postcode"),
    pytest.param("to Olympijská 1, 413 92 Stod.", "Olympijská 1, 413 92 Stod", id="cz-postcode"),
    pytest.param("Parkgränd 902, 22934 Mölndal", "Parkgränd 902, 22934 Mölndal", id="se-suffix"),
    pytest.param("you wrote:\n>Apt. 617\n>Matile-sur-Nusslé\n>Yemen 88929", "Apt. 617\n>Matile-sur-Nusslé\n>Yemen 88929", id="quoted-reply-lines"),
    pytest.param("PSC 1234, Box 5678, APO AE 09876", "PSC 1234, Box 5678, APO AE 09876", id="us-military-psc"),
    pytest.param("USNS Brown\nFPO AP 12345", "USNS Brown\nFPO AP 12345", id="us-military-ship"),
    pytest.param("must enter on Juan Course St. the first", "Juan Course St.", id="named-street-no-number"),
    pytest.param("He lives on the north side of Maple Parkways.", "Maple Parkways", id="named-street-plural-type"),
    # Any street type after words that place someone on a street.
    pytest.param("Her flat is on the east side of Harlow Tunnel.", "Harlow Tunnel", id="cued-side-of"),
    pytest.param("Meet at the corner of Dunmore Point and the park", "Dunmore Point", id="cued-corner-of"),
    pytest.param("She lives on Brandt Ranch with her dogs", "Brandt Ranch", id="cued-lives-on"),
    # Country names with "and", "of", "&" and towns with particles in the lines below a street.
    pytest.param(
        "12 Oak Landing\nSuite 4\nVejby\nTrinidad and Tobago 17500", "12 Oak Landing\nSuite 4\nVejby\nTrinidad and Tobago 17500", id="country-with-and"
    ),
    pytest.param("498 Anderson Ports\nCaldas da Rainha\nIsle of Man 91665", "498 Anderson Ports\nCaldas da Rainha\nIsle of Man 91665", id="country-with-of"),
    pytest.param("Mlýnská 5, 400 01 Ústí nad Labem", "Mlýnská 5, 400 01 Ústí nad Labem", id="cz-town-with-particle"),
    pytest.param(
        "271 Oak Stravenue\n   Mistelbach an der Zaya\n    PR\n    92585", "271 Oak Stravenue\n   Mistelbach an der Zaya\n    PR\n    92585", id="two-particles"
    ),
    # Australian, Canadian, Philippine and Indian forms.
    pytest.param("Level 2 14 Marsh Route\nSt. Kilda, VIC, 3182", "Level 2 14 Marsh Route\nSt. Kilda, VIC, 3182", id="au-level-saint-town"),
    pytest.param("to 7 Richard Quad, South Alexander, WA, 3194.", "7 Richard Quad, South Alexander, WA, 3194", id="au-street-type"),
    pytest.param("8006 montée Saint-Michel\nLaval, QC H7T 1C8", "8006 montée Saint-Michel\nLaval, QC H7T 1C8", id="ca-fr"),
    pytest.param(
        "Block 3 Lot 8 Greenfield Estates Phase 2, 5th Road, Tubod, 3404 Cavite",
        "Block 3 Lot 8 Greenfield Estates Phase 2, 5th Road, Tubod, 3404 Cavite",
        id="ph-block-lot",
    ),
    pytest.param("H.No. 12, Gandhi Street, Chennai 600017 ok", "H.No. 12, Gandhi Street, Chennai 600017", id="in-house-number-pin"),
    pytest.param("at PO Box 417, Wanaka 9305 after", "PO Box 417, Wanaka 9305", id="po-box"),
    # Continental Europe and Latin America.
    pytest.param("Kossuth utca 12.\nH-1052 Budapest", "Kossuth utca 12.\nH-1052 Budapest", id="hu-type-word"),
    pytest.param("Prešernova cesta 5, 1000 Ljubljana", "Prešernova cesta 5, 1000 Ljubljana", id="si-type-word"),
    pytest.param("Eino Leinon katu 3, 00250 Helsinki", "Eino Leinon katu 3, 00250 Helsinki", id="fi-type-word"),
    pytest.param("to rue de Lausanne, 1201 Genève.", "rue de Lausanne, 1201 Genève", id="fr-street-then-postcode"),
    pytest.param("at Stationsplein 4\n1012AB\nAmsterdam for the", "Stationsplein 4\n1012AB\nAmsterdam", id="nl-postcode-line-then-city"),
    pytest.param("Carrera 7 # 12-40, 110311, Bogotá", "Carrera 7 # 12-40, 110311, Bogotá", id="co-hash-number"),
    pytest.param("Av. Corrientes N° 1234 Piso 3, Buenos Aires 1043", "Av. Corrientes N° 1234 Piso 3, Buenos Aires 1043", id="ar-numero"),
    pytest.param("Rua Augusta, 1500\nConsolação\n01304001 São Paulo / SP", "Rua Augusta, 1500\nConsolação\n01304001 São Paulo / SP", id="br-cep-state"),
    pytest.param(
        "Strada Lipscani Nr. 5 Bl. 2 Sc. 1 Ap. 12, Valea Mare (Dolj), 200585",
        "Strada Lipscani Nr. 5 Bl. 2 Sc. 1 Ap. 12, Valea Mare (Dolj), 200585",
        id="ro-block-stair-flat",
    ),
    pytest.param("Jl. Sudirman No. 5\nBandung, Jawa Barat 40115", "Jl. Sudirman No. 5\nBandung, Jawa Barat 40115", id="id-jalan"),
    pytest.param("Avenida do Roleto, S/N, 6254-863 Maia", "Avenida do Roleto, S/N, 6254-863 Maia", id="pt-sem-numero"),
    # Lower-case words in a street name before a type word no English sentence uses; Finnish compounds.
    pytest.param("write to Petőfi sándor utca 7., H-1052 Budapest today", "Petőfi sándor utca 7., H-1052 Budapest", id="hu-lower-case-given-name"),
    pytest.param("write to Kossuth utca 2, 8000 Székesfehérvár soon", "Kossuth utca 2, 8000 Székesfehérvár", id="city-then-prose-word"),
    pytest.param("Munkkiniemen puistokatu 4, 00330 Helsinki", "Munkkiniemen puistokatu 4, 00330 Helsinki", id="fi-compound"),
    # Ordinals inside the street name, after a number or a block and lot.
    pytest.param(
        "B12 L3 4th Avenue, Palm Estates Phase 2, Tubod, 3404 Cavite", "B12 L3 4th Avenue, Palm Estates Phase 2, Tubod, 3404 Cavite", id="ph-block-lot-ordinal"
    ),
    pytest.param("5120 Unit C 12th Drive, Pasig, 1600 Metro Manila", "5120 Unit C 12th Drive, Pasig, 1600 Metro Manila", id="ph-unit-ordinal"),
    # Chile: no street word, confirmed by a commune and a region.
    pytest.param("envío a Los Aromos 1234, Maipú, Región Metropolitana.", "Los Aromos 1234, Maipú, Región Metropolitana", id="cl-commune-region"),
    pytest.param("Las Acacias 77\nTemuco, Región de La Araucanía", "Las Acacias 77\nTemuco, Región de La Araucanía", id="cl-lines"),
    # Mexico: street words, states of 3-4 letters or dotted, towns ending in lower-case words.
    pytest.param(
        "Continuación Hidalgo 88, San Pedro los altos, CAMP 24000", "Continuación Hidalgo 88, San Pedro los altos, CAMP 24000", id="mx-lower-case-town"
    ),
    pytest.param("Calle Tulum 5, Nueva Cancún, Q. ROO 77500", "Calle Tulum 5, Nueva Cancún, Q. ROO 77500", id="mx-dotted-state"),
    pytest.param("Cerrada Côte d'Azur 12, Vieja Lyon, GTO 36000", "Cerrada Côte d'Azur 12, Vieja Lyon, GTO 36000", id="mx-elided-particle"),
    # French Canada: "allé", towns with spaced or doubled hyphens; a "U.S." line is not a town.
    pytest.param("1200 allé Lavoie, Sainte- Julie, QC J3E 1Y5", "1200 allé Lavoie, Sainte- Julie, QC J3E 1Y5", id="ca-spaced-hyphen"),
    pytest.param("45 rue Tremblay, Lac--Mégantic, QC G6B 2S5", "45 rue Tremblay, Lac--Mégantic, QC G6B 2S5", id="ca-double-hyphen"),
    pytest.param("227 avenue Royale\nLévis, QC G6V 6N4\nU.S. Virgin Islands", "227 avenue Royale\nLévis, QC G6V 6N4", id="ca-then-dotted-line"),
    # Czech district, Brazilian sections, a town led by a particle after a postcode.
    pytest.param("Nádražní 12, 460 01 Liberec (okres Liberec)", "Nádražní 12, 460 01 Liberec (okres Liberec)", id="cz-district"),
    pytest.param(
        "Rua das Flores, 12, Jardim América 2ª Seção, 30421-100 Belo Horizonte / MG",
        "Rua das Flores, 12, Jardim América 2ª Seção, 30421-100 Belo Horizonte / MG",
        id="br-section",
    ),
    pytest.param("Loteamento Silva, Centro, 07236-592 das Neves / SP", "Loteamento Silva, Centro, 07236-592 das Neves / SP", id="br-town-with-particle"),
    # Indian "Zila", Australian "Link", Norwegian "-kroken".
    pytest.param("H.No. 14, Tilak Zila, Nashik 422001", "H.No. 14, Tilak Zila, Nashik 422001", id="in-zila"),
    pytest.param("Unit 4 12 Banksia Link\nPerth, WA, 6000", "Unit 4 12 Banksia Link\nPerth, WA, 6000", id="au-link"),
    pytest.param("left at Bjerkroken 7 today", "Bjerkroken 7", id="no-kroken"),
    # A US town, state and ZIP code without a street; a town after a unit and a blank; upper case.
    pytest.param("my address is Lake Mary FL 32746 thanks", "Lake Mary FL 32746", id="us-town-state-zip"),
    pytest.param("bill to Port Ellen, WA 98101-2200.", "Port Ellen, WA 98101-2200", id="us-town-state-zip4"),
    pytest.param("ship to 14 Graves Park Apt. 053 Adrianchester today", "14 Graves Park Apt. 053 Adrianchester", id="us-town-after-unit"),
    pytest.param("PSC 7467, BOX 5177\nAPO AE 72479", "PSC 7467, BOX 5177\nAPO AE 72479", id="us-military-upper-case"),
    pytest.param("USNS BROWN, FPO AP 12345", "USNS BROWN, FPO AP 12345", id="us-ship-upper-case"),
    pytest.param("It went to 1446 Wood Via, Vazquezfurt", "1446 Wood Via, Vazquezfurt", id="us-via"),
    pytest.param("the depot is just off Harlow Tunnel now", "Harlow Tunnel", id="named-street-rare-type"),
    # Street names with lower-case words, confirmed by a postcode and city after a comma.
    pytest.param("send it to Zlatá ulička 7b, 602 00 Brno please", "Zlatá ulička 7b, 602 00 Brno", id="cz-lower-case-street"),
    pytest.param("at Pod lipami I. 14, 040 01 Košice today", "Pod lipami I. 14, 040 01 Košice", id="sk-initial-in-street"),
    # City tails: a slash-joined name, "u", a lower-case last word ending its field or line.
    pytest.param("It went to Bahnhofweg 9, 2502 Murten/Morat last week.", "Bahnhofweg 9, 2502 Murten/Morat", id="ch-slash-city"),
    pytest.param('{"to": "Kolodvorska 3, 1000 Stara vas"}', "Kolodvorska 3, 1000 Stara vas", id="si-lower-case-last-word-in-field"),
    pytest.param("Lipová 44\n530 02 Kostelec u Holic", "Lipová 44\n530 02 Kostelec u Holic", id="cz-town-with-u"),
    # A country with its other name in brackets before the postcode, below the town.
    pytest.param(
        "9 Ivy Court\n Apt. 2\n Ferndale\n\n Macau (Macao) 45120", "9 Ivy Court\n Apt. 2\n Ferndale\n\n Macau (Macao) 45120", id="country-aka-postcode"
    ),
    # Brazilian, Chilean and Argentine street words, titles and units.
    pytest.param("para Pátio Lima, 45, Centro, 12345-678 Campinas / SP", "Pátio Lima, 45, Centro, 12345-678 Campinas / SP", id="br-patio"),
    pytest.param("Morro Azul\nSanta Luzia\n31020110 da Serra / MG", "Morro Azul\nSanta Luzia\n31020110 da Serra / MG", id="br-lines-no-number"),
    pytest.param("en Psje. Los Olmos 812, Rancagua, Región de O'Higgins", "Psje. Los Olmos 812, Rancagua, Región de O'Higgins", id="cl-pasaje-abbreviation"),
    pytest.param("Las Camelias 55 Of. 12, Talca, Región del Maule", "Las Camelias 55 Of. 12, Talca, Región del Maule", id="cl-oficina"),
    pytest.param("Avenida Pte. Illia N° 120\nSalta 4400, Salta", "Avenida Pte. Illia N° 120\nSalta 4400, Salta", id="ar-title-in-street"),
    pytest.param("Diag. 74 N° 1201\nLa Plata 1900, Buenos Aires", "Diag. 74 N° 1201\nLa Plata 1900, Buenos Aires", id="ar-diagonal"),
    pytest.param("Unit 3 18 Banks Ridgeway, Kingston, TAS, 7050", "Unit 3 18 Banks Ridgeway, Kingston, TAS, 7050", id="au-ridgeway"),
    # Any name after a number, confirmed by a town, a known state and a postcode; a town "X in Y" on its line.
    pytest.param("drop it at 14 Wattle Glade Row, Mount Eliza, VIC, 3930 by noon", "14 Wattle Glade Row, Mount Eliza, VIC, 3930", id="au-any-street-type"),
    pytest.param("Unit 2 7 Kerr Stairs, Hobart, TAS, 7000", "Unit 2 7 Kerr Stairs, Hobart, TAS, 7000", id="au-unit-any-street-type"),
    pytest.param("3 Ivy Piazza\nBrightwater, NSW, 2480", "3 Ivy Piazza\nBrightwater, NSW, 2480", id="au-town-state-on-next-line"),
    # A postcode on a line of its own between the street and the city; particles "i", "vorm".
    pytest.param("meet at Kerkring 12\n1234AB\nDoorn after", "Kerkring 12\n1234AB\nDoorn", id="nl-postcode-line"),
    pytest.param("na ul. Jana i Wojciecha 5, 30-001 Kraków", "ul. Jana i Wojciecha 5, 30-001 Kraków", id="pl-i-in-street"),
    pytest.param("to Lindenweg 4, 92431 Neustadt vorm Wald.", "Lindenweg 4, 92431 Neustadt vorm Wald", id="de-vorm-in-town"),
    pytest.param("12 Lind Park\nApt. 4\nNeumarkt in Steiermark\nAustria 8820", "12 Lind Park\nApt. 4\nNeumarkt in Steiermark\nAustria 8820", id="town-x-in-y"),
    # Rural and highway contract routes; ship names in any script.
    pytest.param("mail goes to RR 2 Box 152, Millbrook, AL 36054 weekly", "RR 2 Box 152, Millbrook, AL 36054", id="us-rural-route"),
    pytest.param("HC 68 Box 23\nCody, WY 82414", "HC 68 Box 23\nCody, WY 82414", id="us-highway-contract-route"),
    pytest.param("to R.R. 4, Box 730, Marion, OH 43302.", "R.R. 4, Box 730, Marion, OH 43302", id="us-rural-route-dotted"),
    pytest.param("Send it to USNS Ó Briain, FPO AE 09501.", "USNS Ó Briain, FPO AE 09501", id="ship-name-with-accents"),
    # Dutch articles, Norwegian, German and Dutch suffixes, Danish and Czech street forms.
    pytest.param("at Kerkstraat 5, 5211 AB 's-Hertogenbosch.", "Kerkstraat 5, 5211 AB 's-Hertogenbosch", id="nl-s-article"),
    pytest.param("Dorpsweg 3\n1234 AB\n't Zandt", "Dorpsweg 3\n1234 AB\n't Zandt", id="nl-t-article-after-postcode-line"),
    pytest.param("til Hansenhaugen 12, 0150 Oslo i dag", "Hansenhaugen 12, 0150 Oslo", id="no-haugen"),
    pytest.param("Anna-Müller-Ring 4, 80331 München", "Anna-Müller-Ring 4, 80331 München", id="de-hyphen-ring"),
    pytest.param("We met at Paulring 7 yesterday.", "Paulring 7", id="nl-name-ring"),
    pytest.param("address: Dronning Elisabethsgade 76", "Dronning Elisabethsgade 76", id="dk-word-before-suffixed-street"),
    pytest.param("Lukretia Allé 28, 8740 Brædstrup", "Lukretia Allé 28, 8740 Brædstrup", id="dk-alle"),
    pytest.param("Vizovická 12, 760 01 Zlín", "Vizovická 12, 760 01 Zlín", id="cz-adjective-street"),
    pytest.param("Please send it to Nad Mostem 7 by Friday.", "Nad Mostem 7", id="cz-preposition-street"),
    pytest.param("Komenského Nám. 5, 150 03 Praha", "Komenského Nám. 5, 150 03 Praha", id="cz-namesti"),
    # Australian street types; Polish, Portuguese, French and Latin-American street words.
    pytest.param("leave it at 22 Thomas Distributor please", "22 Thomas Distributor", id="au-distributor"),
    pytest.param("pl. Armii Krajowej 295, 61-668 Poznań", "pl. Armii Krajowej 295, 61-668 Poznań", id="pl-plac"),
    pytest.param("We met at Largo Nair Monteiro, S/N yesterday.", "Largo Nair Monteiro, S/N", id="pt-no-number-no-digit"),
    pytest.param("We met at R. do Brasil (Porto), 220 yesterday.", "R. do Brasil (Porto), 220", id="pt-parenthesised-part"),
    pytest.param("Alameda das Galeotas ao Parque das Nações, 76", "Alameda das Galeotas ao Parque das Nações, 76", id="pt-six-words"),
    pytest.param("She lives rue Reynaud now", "rue Reynaud", id="fr-street-without-number"),
    pytest.param("Dinner at Rue de la Paix tonight", "Rue de la Paix", id="fr-capital-street-word-before-particle"),
    pytest.param("avenue de Polla 819, 1234 Lausanne", "avenue de Polla 819, 1234 Lausanne", id="ch-lower-avenue"),
    pytest.param("Customer: Ruta T-26, km 14", "Ruta T-26, km 14", id="route-kilometre"),
    pytest.param("Shipping: Ruta 5 Sur, km 496\nBilling: same", "Ruta 5 Sur, km 496", id="route-direction-kilometre"),
    # South and South-East Asia: house numbers before the places, "Jln", "Seksyen 5".
    pytest.param("Flat 1, Building No. 90, Kazi Para, Barisal, 8200 |", "Flat 1, Building No. 90, Kazi Para, Barisal, 8200", id="bd-building-no"),
    pytest.param(
        "No. 49, Jalan Kuching 8/44, Taman Genting, 89646 Seksyen 5, Sabah\n",
        "No. 49, Jalan Kuching 8/44, Taman Genting, 89646 Seksyen 5, Sabah",
        id="my-jalan-house-after-name",
    ),
    pytest.param("53, Jln 5/12x, Taman Anggerik, 94497 Kuching", "53, Jln 5/12x, Taman Anggerik, 94497 Kuching", id="my-jln-number-only"),
    # A street named without a number: before a comma and a town an address form found, or after "address is".
    pytest.param("Please ship to Amy Pass, Bastremoli, MS 55125", "Amy Pass, Bastremoli, MS 55125", id="named-street-before-town-state-zip"),
    pytest.param("Is Scott Pike, Zlín, MH 35195 your address?", "Scott Pike, Zlín, MH 35195", id="named-street-freely-associated-state"),
    pytest.param("My address is Harmon Underpass.", "Harmon Underpass", id="address-is-named-street"),
    pytest.param("can you ship it to Mary Trail today", "Mary Trail", id="ship-it-to-named-street"),
    # Lower-case words in the street name, a postcode and city on the next line; no stop word in the name.
    pytest.param("Deliver to:\nPod akacijami 1\n8139 Kostanjevica na Krki", "Pod akacijami 1\n8139 Kostanjevica na Krki", id="si-lower-words-next-line"),
    pytest.param("Pickup from Jarčeva ulica 19 and drop-off", "Jarčeva ulica 19", id="stop-word-is-no-street-name"),
    # A postal city ends the address: the next line's first word is not its city.
    pytest.param("Rebekka Allé 46, 8740 Nørre Asmindrup\nBilling address: same", "Rebekka Allé 46, 8740 Nørre Asmindrup", id="postal-city-then-next-field"),
]


@pytest.mark.parametrize(("text", "address"), FOUND)
def test_whole_address_found(text: str, address: str) -> None:
    assert [text[r.start : r.end] for r in AddressRecognizer().analyze(text)] == [address]


BENIGN = [
    pytest.param("We have 3 kids and 2 cats", id="counts"),
    pytest.param("sent via Email 2 times", id="via-is-a-word"),
    pytest.param("Top 10 Best Places to work", id="listicle"),
    pytest.param("the meeting is on Monday at 10", id="weekday"),
    pytest.param("uploaded to Data Lake 2 hours ago", id="product-name"),
    pytest.param("We met at The Drive", id="the-drive"),
    pytest.param("name: mysecret\nreplicas: 3\nport: 8080", id="kubernetes"),
    pytest.param("2024-11-05 12:30:01 INFO worker 3 started", id="log-line"),
    pytest.param("Python 3 Way of doing things", id="number-then-type-needs-a-name"),
    pytest.param("> 3 Places\\n> to visit this year", id="quoted-listicle-escaped-break"),
    pytest.param("??? build 42 failed\n??? retry", id="prefixed-log-lines"),
    pytest.param("During 1983, Burgess, Price and Jenkins invested heavily", id="word-ending-like-a-street-suffix"),
    pytest.param("Phase 3 rollout starts Monday", id="unit-word-alone"),
    pytest.param("Chapter 4 Cross references are at the end", id="street-type-without-a-name"),
    pytest.param("the London and Paris offices", id="places-without-a-street"),
    # Twins of the lower-case, ordinal and region rules.
    pytest.param("Please delegate 3 tasks to the team", id="word-ending-like-a-suffix"),
    pytest.param("Una buena cesta 5 euros", id="spanish-basket-is-no-street"),
    pytest.param("Take the 5th Avenue exit after 2 miles", id="ordinal-without-a-house-number"),
    pytest.param("Ticket 5, Soporte, Departamento de TI", id="ticket-and-department"),
    pytest.param("Release 2 - the 3rd Drive of the season", id="ordinal-in-prose"),
    pytest.param("It lives on Data Lake Storage now", id="cued-product-name-goes-on"),
    pytest.param("the corner of the Living Room", id="cued-the-room"),
    pytest.param("we walked along the River Park path", id="cued-the-park"),
    pytest.param("Version 2 GA 12345 released", id="version-then-state-like-word"),
    pytest.param("The build ID is 10023 and CA 94105 is the zip", id="state-zip-without-a-town"),
    pytest.param("Suite 5 Tomorrow we meet", id="unit-then-a-word-no-street"),
    # Twins of the lower-case street, city tail, "Of." and country rules.
    pytest.param("Released in version 2, 2024 Windows builds", id="version-then-year"),
    pytest.param("see chapter 5, 2019 Report for details", id="chapter-then-year"),
    pytest.param("We have 12, 4031 Failed", id="sentence-start-then-counts"),
    pytest.param("The board of 12 members met", id="of-is-no-unit"),
    pytest.param("Ratio 3 Of. 4 was the best", id="of-without-a-street"),
    pytest.param("Morocco 2030 World Cup bid", id="country-then-year"),
    pytest.param("Follow these 3 Easy Steps to start", id="steps-are-no-street"),
    pytest.param("We sold 2 Tickets, Boston, MA 2019 edition", id="state-then-year"),
    pytest.param("Order 3 Widgets, Acme, XYZ 12345 shipped", id="unknown-state-code"),
    pytest.param("Release 42\n2024\nNotes follow", id="number-lines-then-a-word"),
    pytest.param("Build 42\n1234AB\nthen retry", id="postcode-line-then-lower-case"),
    # Twins of the rural route, suffix, Czech, French, route and house-number rules.
    pytest.param("HC 5 of the pipeline ran, Box 3 ticked", id="hc-without-a-box"),
    pytest.param("Spring 2024 release notes", id="spring-is-no-ring-street"),
    pytest.param("Monitoring 3 hosts and Engineering 101", id="english-ing-words"),
    pytest.param("Supernova 3 launched with Casanova 2", id="nova-is-no-czech-street"),
    pytest.param("Rue McClanahan starred in 1985", id="capital-rue-is-a-name"),
    pytest.param("You will rue the day, Smith", id="rue-is-a-verb"),
    pytest.param("Route 66 is 3,940 km long", id="route-without-a-kilometre-mark"),
    pytest.param("The House No. 5 vote passed", id="house-number-without-places"),
    pytest.param("Visit 3 Jalan-style cafes", id="jalan-without-a-name"),
    pytest.param("My address is The Drive", id="address-is-the-drive"),
    pytest.param("born on May 5, 1990 In Paris", id="a-date-is-no-street"),
    pytest.param("We met at Data Lake, then Stream Processing, 2 teams", id="named-street-before-no-town"),
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_twins_survive(text: str) -> None:
    assert AddressRecognizer().analyze(text) == []


def test_address_stops_at_prose() -> None:
    text = "12 Baker Street, London and then we went home"
    (found,) = AddressRecognizer().analyze(text)
    assert text[found.start : found.end] == "12 Baker Street, London"


# The prefilters (redactors/addresses.py: street_lines, named_streets) try the address regexes only
# where a match can start; they must find exactly what a scan of every position finds.
def _full_scan(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return [m.span() for m in addresses._STREET_LINES.finditer(text)], [m.span() for m in addresses._NAMED_STREET.finditer(text)]


def _prefiltered(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    lower = addresses._lower(text)
    return [m.span() for m in addresses.street_lines(text, lower)], [m.span() for m in addresses.named_streets(text, lower)]


@pytest.fixture(scope="module")
def workload_texts() -> list[str]:
    texts: dict[str, None] = {}
    for row in comparison_rows(SOURCES):
        for text in (row["text"], normalize(row["text"]).text):
            texts[addresses._line_view(text)] = None
    for row in addresses_dev.rows():
        texts[addresses._line_view(row["text"])] = None
    for kind in (REALISTIC, UNIQUE, MIXED):
        for text in content_texts(Source(kind, DEFAULT_SEED).take(40)):
            texts[addresses._line_view(text)] = None
    return list(texts)


def test_prefilters_find_what_a_full_scan_finds(workload_texts: list[str]) -> None:
    assert len(workload_texts) > 5000
    differing = [text for text in workload_texts if _prefiltered(text) != _full_scan(text)]
    assert differing == []
    assert sum(len(_full_scan(text)[0]) for text in workload_texts) > 300  # the corpus holds addresses


EDGES = [
    # Each start the prefilters know, and the case-blind oddities they must send to a full scan.
    pytest.param("xx\n  Apt. 5\nLyon", id="indented-unit-line"),
    pytest.param("  Apt. B\nHale Burgs 4", id="indented-unit-line-at-start"),
    pytest.param("Capt. 5 Baker Street, London", id="unit-word-inside-a-word"),
    pytest.param("B06 L86 Greenfield Estates, Tubod 3404", id="block-and-lot"),
    pytest.param("# 4 Pine Road and #7 Oak Lane 9", id="hash-unit"),
    pytest.param("USNS Brown, FPO AP 12345", id="ship-comma"),
    pytest.param("PSC 1234, Box 5678, APO AE 09876", id="military"),
    pytest.param("FRIEDRICHSTRA\u1e9eE 12, 10117 Berlin", id="capital-sharp-s-suffix"),
    pytest.param("Parkve\u212aen 14 and Tomhof 74", id="kelvin-sign"),
    pytest.param("12 Baker \u017ftreet 4, on Oak \u017ftreet", id="long-s-falls-back"),
    pytest.param("Via Roma 12, Vıa Roma 13", id="dotless-i-falls-back"),
    pytest.param("\u0130STANBUL 5 VIA Roma 12", id="dotted-capital-i-falls-back"),
    pytest.param("Av. Corrientes N\u00b0 1234\nRua Augusta, 1500", id="street-words-with-dots"),
    pytest.param("P.O. Box 12, p.o.box 13, PO Box 14", id="po-box-spellings"),
    pytest.param("walk along Maple Avenue and onto Elm Rd. then at Oak Groves", id="named-streets"),
    pytest.param("Olympijsk\u00e1 1, 413 92 Stod; St. Jaime & Co 3, 1000 Ljubljana", id="capital-place-forms"),
]


@pytest.mark.parametrize("text", EDGES)
def test_prefilters_on_each_kind_of_start(text: str) -> None:
    view = addresses._line_view(text)
    assert _prefiltered(view) == _full_scan(view)


def _ignorecase_equivalents(letters: set[str]) -> set[str]:
    """Every character that a case-blind regex equates with one of letters."""
    pattern = re.compile("(?i:[" + re.escape("".join(sorted(letters))) + "])")
    return {ch for ch in map(chr, range(0x110000)) if pattern.fullmatch(ch)}


def test_lower_cased_text_sees_every_case_blind_spelling() -> None:
    # The word starts are read on text.lower(): a character that a case-blind match takes for a
    # letter of those words must lower-case to it, or be one that sends the text to a full scan.
    words = addresses._spellings(addresses._UNIT_WORDS) + addresses._spellings(f"{addresses._STREET_WORDS}|{addresses._CAPITAL_STREET_WORDS}")
    letters = {ch.lower() for word in words for ch in word if ch.isalpha()}
    odd = [ch for ch in _ignorecase_equivalents(letters) if ch.lower() not in letters and not addresses._ODD_CASE.match(ch)]
    assert odd == []


def test_name_runs_hold_every_character_of_the_capital_forms() -> None:
    # What the capital forms read before "[ \t]<digit>": their letter classes, the letters of their
    # case-blind words and their literal words.
    sources = (
        addresses._SUFFIXED,
        addresses._TYPE_WORDS,
        addresses._CONNECTOR,
        "PO Box Post Office Postfach Apartado de Correos Caixa Postal Case postale Boîte PSC CMR Unit",
    )
    letters = {ch.lower() for source in sources for ch in source if ch.isalpha()}
    wanted = _ignorecase_equivalents(letters) | set(addresses._UP + addresses._LOW + "'’.&- \t")
    name_chars = re.compile(f"[{addresses._NAME_CHARS}]")
    assert sorted(ch for ch in wanted if not name_chars.fullmatch(ch)) == []


def test_spellings_expand_the_regex_word_lists() -> None:
    assert addresses._spellings(r"av\.?|h\.[ ]?no|rue") == ["av", "av.", "h.no", "h. no", "rue"]
    whole = re.compile(f"(?:{addresses._UNIT_WORDS})")
    assert all(whole.fullmatch(word) for word in addresses._spellings(addresses._UNIT_WORDS))
    with pytest.raises(ValueError, match="not a word list"):
        addresses._spellings(r"st(?:reet)?")


COUNTRY_LINES = [
    # (text, what a recognizer given the gazetteer's places finds)
    pytest.param("Rosa Lind\nAcme Works\nKenya 40100", ["Kenya 40100"], id="country-postcode-line"),
    pytest.param("> Tom\n> Ghana (Gold Coast) 23321", ["Ghana (Gold Coast) 23321"], id="country-aka-quoted-line"),
    pytest.param("Revenue by market\nKenya 2024\nGhana 12", [], id="country-then-year-or-count"),
    pytest.param("Kenya 40100 is the code we use", [], id="postcode-then-prose"),
    pytest.param("Send it to Head Office Kenya 40100, thanks", ["Kenya 40100"], id="place-after-other-capitals"),
    pytest.param("The office is in Ghana 00233.", ["Ghana 00233"], id="place-postcode-ends-sentence"),
    pytest.param("Ghana 2026.", [], id="place-then-year"),
    pytest.param("Release 40100", [], id="not-a-country"),
    pytest.param("The villa is Ware Mission, Kenya, by the sea", ["Ware Mission, Kenya"], id="named-street-before-known-place"),
    pytest.param("Ghana 00233 please", ["Ghana 00233"], id="place-postcode-then-please"),
    pytest.param("Ghana 00233 people came", [], id="place-number-then-prose"),
    pytest.param("We walked the Park, Kenya style", [], id="the-park-before-known-place"),
]


@pytest.mark.parametrize(("text", "found"), COUNTRY_LINES)
def test_country_postcode_lines(text: str, found: list[str]) -> None:
    recognizer = AddressRecognizer(lambda name: name in {"Kenya", "Ghana"})
    assert [text[r.start : r.end] for r in recognizer.analyze(text)] == found
    assert AddressRecognizer().analyze(text) == []  # without the gazetteer's countries, no such line


PEOPLE_STREETS = [
    # (text, what a recognizer given these first and last names finds)
    pytest.param("Please ship to Collier Dale 2243", ["Collier Dale 2243"], id="name-type-number"),
    pytest.param("My address is Gonzales Ways 436, Gloggnitz.", ["Gonzales Ways 436, Gloggnitz"], id="name-type-number-town"),
    pytest.param("Martin Luther King Drive 12", ["Martin Luther King Drive 12"], id="every-word-a-name"),
    pytest.param("uploaded to Data Lake 2 hours ago", [], id="not-a-name"),
    pytest.param("delayed delivery Canada Post Summit 800 down jacket", [], id="a-word-of-the-name-is-no-name"),
    pytest.param("Collier Park 3.5 km away", [], id="decimal-is-no-house-number"),
    pytest.param("Collier Lake 20% full", [], id="percentage-is-no-house-number"),
]


@pytest.mark.parametrize(("text", "found"), PEOPLE_STREETS)
def test_streets_named_after_people(text: str, found: list[str]) -> None:
    names = {"Collier", "Gonzales", "Post", "Martin", "Luther", "King"}
    recognizer = AddressRecognizer(is_name=lambda word: word in names)
    assert [text[r.start : r.end] for r in recognizer.analyze(text)] == found
    assert AddressRecognizer().analyze(text) == []  # without the names, no such street


BESIDE_A_PLACE = [
    # (text, the place another detector found, the span with its postcode)
    pytest.param("Send the letter to Horgen 84997 please", "Horgen", "Horgen 84997", id="postcode-after"),
    pytest.param("Paris 75001 please", "Paris", "Paris 75001", id="postcode-then-prose"),
    pytest.param("Please ship to 02337 Aune", "Aune", "02337 Aune", id="postcode-before"),
    pytest.param("Is Göteborg, 26740 your address?", "Göteborg", "Göteborg, 26740", id="postcode-after-comma"),
    pytest.param("Warsaw 00-950 office", "Warsaw", "Warsaw 00-950", id="polish-postcode"),
    pytest.param("Paris 2024 Olympics", "Paris", "Paris", id="year-is-no-postcode"),
    pytest.param("Berlin 3.5 km away", "Berlin", "Berlin", id="decimal-is-no-postcode"),
    pytest.param("London 2000% growth", "London", "London", id="percentage-is-no-postcode"),
    pytest.param("Berlin 0301234567 is the number", "Berlin", "Berlin", id="longer-number-is-no-postcode"),
    pytest.param("Rome 12 days", "Rome", "Rome", id="two-digits-are-no-postcode"),
    pytest.param("build-4411 Oslo", "Oslo", "Oslo", id="part-of-an-identifier"),
]


@pytest.mark.parametrize(("text", "place", "grown"), BESIDE_A_PLACE)
def test_postcode_beside_a_place(text: str, place: str, grown: str) -> None:
    start = text.index(place)
    new_start, new_end = addresses.with_postcode(text, start, start + len(place))
    assert text[new_start:new_end] == grown
