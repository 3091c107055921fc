"""Synthetic people with realistic duplicates and look-alikes, as a Google Contacts CSV.

    python -m bench.dedupe.generate --people 20000 --seed 1 --out var/bench/dedupe

Writes ``contacts.csv`` (Google Contacts export columns plus ``Bench Record Id``) and
``labels.csv`` (``record_id, person_id, kind, corruptions, related_person_id``). The
same seed and the same Faker/phonenumbers versions give byte-identical files.

Every true person has one original record. About ``DUPLICATE_SHARE`` of them get one to
three duplicate records, each with corruptions drawn independently at the rates in
``CORRUPTIONS`` (at least one per duplicate). ``HARD_NEGATIVES`` adds separate people
who look like an existing one (a household member, a parent or child of the same
name, a colleague on the same switchboard, a namesake elsewhere); they are true people
too, and get duplicates like anyone else. Every phone number passes libphonenumber's
validation, as Rapport's import demands.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberFormat, PhoneNumberType

# locale → (ISO country, share of the people, free-mail domains, corporate TLD)
LOCALES: dict[str, tuple[str, float, tuple[str, ...], str]] = {
    "en_US": ("US", 0.20, ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com"), "com"),
    "en_GB": ("GB", 0.11, ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk"), "co.uk"),
    "de_DE": ("DE", 0.11, ("gmail.com", "gmx.de", "web.de", "t-online.de"), "de"),
    "fr_FR": ("FR", 0.09, ("gmail.com", "orange.fr", "free.fr", "laposte.net"), "fr"),
    "es_ES": ("ES", 0.08, ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"), "es"),
    "it_IT": ("IT", 0.07, ("gmail.com", "libero.it", "virgilio.it", "alice.it"), "it"),
    "nl_NL": ("NL", 0.06, ("gmail.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl"), "nl"),
    "pl_PL": ("PL", 0.06, ("gmail.com", "wp.pl", "onet.pl", "interia.pl"), "pl"),
    "pt_BR": ("BR", 0.08, ("gmail.com", "uol.com.br", "bol.com.br", "hotmail.com"), "com.br"),
    "ja_JP": ("JP", 0.07, ("gmail.com", "yahoo.co.jp", "docomo.ne.jp", "outlook.jp"), "co.jp"),
    "zh_CN": ("CN", 0.07, ("gmail.com", "qq.com", "163.com", "126.com"), "cn"),
}

DUPLICATE_SHARE = 0.30
DUPLICATES_PER_PERSON = ((1, 0.70), (2, 0.22), (3, 0.08))

# Per duplicate record: the probability of each corruption where it applies.
CORRUPTIONS: dict[str, float] = {
    "name_typo": 0.20,  # insert, delete, transpose or substitute a letter
    "nickname": 0.30,  # Robert → Bob (only for given names in NICKNAMES)
    "name_swap": 0.05,  # given and family name exchanged (0.30 for Chinese and Japanese)
    "initial": 0.06,  # "J." instead of the given name
    "accents": 0.40,  # Müller → Muller or Mueller (only names with accents)
    "compound_surname": 0.40,  # García López → García (only compound surnames)
    "email_case": 0.10,  # John.Smith@Gmail.com
    "gmail_variant": 0.30,  # dots moved or a +tag at Gmail (only Gmail addresses)
    "email_other_domain": 0.06,  # same local part at the personal vs corporate domain
    "new_job": 0.10,  # another employer, title and corporate email
    "title_changed": 0.08,  # same employer, another title
    "phone_format": 0.40,  # national/international/E.164, spaces, dashes, an extension
    "phone_missing": 0.15,  # one phone left out
    "address_abbreviated": 0.25,  # Street → St., Straße → Str.
    "postcode_format": 0.20,  # "SW1A 1AA" → "SW1A1AA", "00-950" → "00950"
    "moved": 0.04,  # another address in the same country
    "field_missing": 0.25,  # birthday, address, organization, an email or middle name left out
}

# Share of the true people that are look-alikes of another person.
HARD_NEGATIVES: dict[str, float] = {
    "household": 0.04,  # same family name, address and landline; other given name and birthday
    "parent_child": 0.02,  # same full name and address, 20–40 years apart, often Jr./Sr.
    "colleague": 0.04,  # same employer, switchboard number and email domain
    "name_collision": 0.02,  # same given and family name, elsewhere
}

HEADER = [
    "First Name", "Middle Name", "Last Name", "Name Suffix", "Organization Name",
    "Organization Title", "Birthday", "Labels", "E-mail 1 - Label", "E-mail 1 - Value",
    "E-mail 2 - Label", "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value",
    "Phone 2 - Label", "Phone 2 - Value", "Address 1 - Label", "Address 1 - Street",
    "Address 1 - City", "Address 1 - Region", "Address 1 - Postal Code", "Address 1 - Country",
]  # fmt: skip
RECORD_ID = "Bench Record Id"
LABELS_HEADER = ["record_id", "person_id", "kind", "corruptions", "related_person_id"]

# Common given names and their familiar forms, per language; a name maps to every form
# people use for it. Hand-curated for this benchmark.
NICKNAMES: dict[str, tuple[str, ...]] = {
    # English
    "Robert": ("Bob", "Rob", "Bobby"), "William": ("Bill", "Will", "Billy"),
    "Elizabeth": ("Liz", "Beth", "Betty", "Eliza"), "Margaret": ("Maggie", "Peggy", "Meg"),
    "Richard": ("Rick", "Dick", "Rich"), "James": ("Jim", "Jimmy"), "John": ("Jack", "Johnny"),
    "Michael": ("Mike", "Mikey"), "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Kate", "Cat"), "Jennifer": ("Jen", "Jenny"),
    "Christopher": ("Chris",), "Matthew": ("Matt",), "Anthony": ("Tony",),
    "Daniel": ("Dan", "Danny"), "Joseph": ("Joe", "Joey"), "Thomas": ("Tom", "Tommy"),
    "Edward": ("Ed", "Ted", "Eddie"), "Andrew": ("Andy", "Drew"), "Nicholas": ("Nick",),
    "Alexander": ("Alex",), "Samuel": ("Sam",), "Benjamin": ("Ben",),
    "Patricia": ("Pat", "Patty", "Trish"), "Susan": ("Sue", "Suzy"), "Deborah": ("Debbie", "Deb"),
    "Rebecca": ("Becky",), "Jessica": ("Jess",), "Victoria": ("Vicky", "Tori"),
    "Charles": ("Charlie", "Chuck"), "Stephen": ("Steve",), "Steven": ("Steve",),
    "Timothy": ("Tim",), "Kenneth": ("Ken", "Kenny"), "Ronald": ("Ron",), "Donald": ("Don",),
    "Gregory": ("Greg",), "Jonathan": ("Jon",), "Zachary": ("Zach",), "Joshua": ("Josh",),
    "David": ("Dave",), "Lawrence": ("Larry",), "Gerald": ("Jerry",), "Henry": ("Harry", "Hank"),
    "Peter": ("Pete",), "Philip": ("Phil",), "Raymond": ("Ray",), "Frederick": ("Fred",),
    "Douglas": ("Doug",), "Jacqueline": ("Jackie",), "Kimberly": ("Kim",), "Pamela": ("Pam",),
    "Cynthia": ("Cindy",), "Christine": ("Chris", "Chrissy"), "Alexandra": ("Alex", "Sandra"),
    "Abigail": ("Abby",), "Samantha": ("Sam",), "Amanda": ("Mandy",), "Barbara": ("Barb",),
    "Judith": ("Judy",), "Theresa": ("Tess", "Terry"), "Jeffrey": ("Jeff",),
    "Benedict": ("Ben",), "Nathaniel": ("Nate", "Nat"), "Eleanor": ("Ellie", "Nell"),
    "Harriet": ("Hattie",), "Francesca": ("Fran", "Franci"), "Frances": ("Fran",),
    # German
    "Johannes": ("Hans", "Jo"), "Friedrich": ("Fritz",), "Maximilian": ("Max",),
    "Christian": ("Chris",), "Christoph": ("Chris",), "Matthias": ("Matze",),
    "Andreas": ("Andi",), "Katharina": ("Kathi", "Katja"), "Elisabeth": ("Lisa", "Liesel", "Els"),
    "Margarete": ("Grete",), "Susanne": ("Susi",), "Gabriele": ("Gabi", "Lele"),
    "Franziska": ("Franzi",), "Joachim": ("Achim",), "Bernhard": ("Bernd",),
    "Heinrich": ("Heinz",), "Ulrich": ("Uli",), "Wilhelm": ("Willi",), "Nikolaus": ("Klaus",),
    "Sebastian": ("Basti",), "Tobias": ("Tobi",), "Florian": ("Flo",), "Stefanie": ("Steffi",),
    "Johanna": ("Hanna",), "Magdalena": ("Lena", "Magda"), "Helene": ("Leni",),
    "Dominik": ("Dome",), "Wolfgang": ("Wolf",), "Jürgen": ("Jürg",),
    # French
    "Nicolas": ("Nico",), "Frédéric": ("Fred",), "Dominique": ("Dom",), "Philippe": ("Phil",),
    "Christophe": ("Chris",), "Isabelle": ("Isa",), "Alexandre": ("Alex",),
    "Stéphanie": ("Steph",), "Véronique": ("Véro",), "Valérie": ("Val",), "Mathieu": ("Matt",),
    "Sébastien": ("Seb",), "Emmanuel": ("Manu",), "Emmanuelle": ("Manue",),
    "Caroline": ("Caro",), "Maxime": ("Max",), "Dorothée": ("Doro",), "Guillaume": ("Guigui",),
    # Spanish
    "José": ("Pepe",), "Francisco": ("Paco", "Pancho", "Curro"), "Manuel": ("Manolo",),
    "Antonio": ("Toño", "Tonino", "Totò"), "Jesús": ("Chucho",), "Ignacio": ("Nacho",),
    "Guillermo": ("Memo",), "Enrique": ("Quique",), "Dolores": ("Lola",),
    "Concepción": ("Concha",), "Guadalupe": ("Lupe",), "Rosario": ("Charo",),
    "Mercedes": ("Merche",), "Consuelo": ("Chelo",), "Roberto": ("Beto", "Robi"),
    "Alberto": ("Beto",), "Eduardo": ("Lalo", "Dudu"), "Alejandro": ("Álex",),
    "Fernando": ("Nando",), "Santiago": ("Santi",), "Pilar": ("Pili",), "Cristina": ("Cris",),
    # Italian
    "Giuseppe": ("Beppe", "Peppe", "Pino"), "Francesco": ("Franco", "Checco"),
    "Giovanni": ("Gianni", "Nanni"), "Alessandro": ("Sandro", "Ale"), "Salvatore": ("Totò",),
    "Vincenzo": ("Enzo",), "Domenico": ("Mimmo",), "Luigi": ("Gino",),
    "Margherita": ("Rita",), "Elisabetta": ("Betta",), "Federica": ("Fede",),
    "Federico": ("Fede",), "Emanuele": ("Lele",), "Massimiliano": ("Max",),
    "Raffaele": ("Lello",),
    # Portuguese
    "Antônio": ("Toninho",), "Rafael": ("Rafa",), "Gabriel": ("Biel",), "Beatriz": ("Bia",),
    "Fernanda": ("Nanda",), "Isabela": ("Bela",), "Mariana": ("Mari",), "Gabriela": ("Gabi",),
    "Luiza": ("Lu",), "Guilherme": ("Gui",), "Felipe": ("Lipe",),
    # Dutch
    "Cornelis": ("Kees",), "Pieter": ("Piet",), "Wilhelmus": ("Wim",),
    "Jacobus": ("Koos", "Jaap"), "Hendrik": ("Henk",), "Adrianus": ("Arie",),
    "Johannes ": ("Jan",), "Liesbeth": ("Lies",),
    # Polish
    "Aleksander": ("Olek",), "Aleksandra": ("Ola",), "Małgorzata": ("Gosia",),
    "Katarzyna": ("Kasia",), "Agnieszka": ("Aga",), "Krzysztof": ("Krzysiek",),
    "Tomasz": ("Tomek",), "Piotr": ("Piotrek",), "Józef": ("Józek",),
    "Stanisław": ("Staszek",), "Władysław": ("Władek",), "Wojciech": ("Wojtek",),
    "Joanna": ("Asia",), "Zofia": ("Zosia",),
}  # fmt: skip
NICKNAMES = {name.strip(): forms for name, forms in NICKNAMES.items()}

# How each language shortens the words of its street names.
STREET_ABBREVIATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        (r"\bStreet\b", "St."), (r"\bAvenue\b", "Ave."), (r"\bRoad\b", "Rd."),
        (r"\bDrive\b", "Dr."), (r"\bLane\b", "Ln."), (r"\bBoulevard\b", "Blvd."),
        (r"\bCourt\b", "Ct."), (r"\bPlace\b", "Pl."), (r"\bSquare\b", "Sq."),
        (r"\bApt\.", "#"), (r"\bSuite\b", "Ste."), (r"\bNorth\b", "N."), (r"\bSouth\b", "S."),
    ),
    "de": ((r"straße\b", "str."), (r"Straße\b", "Str."), (r"\bPlatz\b", "Pl.")),
    "fr": ((r"\b[Rr]ue\b", "r."), (r"\b[Aa]venue\b", "av."), (r"\b[Bb]oulevard\b", "bd"),
           (r"\b[Pp]lace\b", "pl."), (r"\b[Cc]hemin\b", "ch.")),
    "es": ((r"\bCalle\b", "C/"), (r"\bAvenida\b", "Avda."), (r"\bPlaza\b", "Pza."),
           (r"\bPaseo\b", "Pº"), (r"\bCamino\b", "Cmno.")),
    "it": ((r"\bVia\b", "V."), (r"\bPiazza\b", "P.zza"), (r"\bViale\b", "V.le"),
           (r"\bCorso\b", "C.so")),
    "nl": ((r"straat\b", "str."), (r"laan\b", "ln."), (r"plein\b", "pl.")),
    "pl": ((r"\bulica\b", "ul."), (r"\baleja\b", "al."), (r"\bplac\b", "pl.")),
    "pt": ((r"\bRua\b", "R."), (r"\bAvenida\b", "Av."), (r"\bTravessa\b", "Tv."),
           (r"\bPraça\b", "Pç.")),
}  # fmt: skip

US_AREA_CODES = ("212", "415", "617", "312", "206", "303", "512", "404", "702", "305", "646")
TRANSLITERATION = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
ASCII_EXTRA = {"ß": "ss", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "œ": "oe"}


@dataclass
class Person:
    """One true person: the values every record of them is drawn from."""

    person_id: str
    locale: str
    country: str
    given: str
    family: str
    middle: str = ""
    suffix: str = ""
    # Latin-script forms for Chinese and Japanese people, used for email addresses.
    latin_given: str = ""
    latin_family: str = ""
    emails: list[tuple[str, str]] = field(default_factory=list)  # (label, address)
    phones: list[tuple[str, str]] = field(default_factory=list)  # (label, E.164)
    street: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    organization: str = ""
    domain: str = ""
    title: str = ""
    birthday: dt.date | None = None
    phone_style: str = "international"
    kind: str = "original"
    related: str = ""


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    switchboard: str  # E.164
    country: str


@dataclass
class Generated:
    """The benchmark's data: CSV rows (with record ids) and their labels, shuffled alike."""

    rows: list[dict[str, str]]
    labels: list[dict[str, str]]


def ascii_fold(text: str) -> str:
    """Letters without accents, and ß/ł/ø/æ spelt in ASCII: "Łukasz Müßig" → "Lukasz Mussig"."""
    text = "".join(ASCII_EXTRA.get(ch, ch) for ch in text)
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", ascii_fold(text).lower())


class Generator:
    """Draws people, companies and records from one seeded random source."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for i, locale in enumerate(LOCALES):
            faker = Faker(locale)
            faker.seed_instance(seed * 1000 + i)
            for provider in faker.providers:
                # it_IT builds its city list from a set, whose order changes per process.
                if isinstance(getattr(provider, "cities", None), list):
                    provider.cities = sorted(provider.cities)  # type: ignore[attr-defined]
            self.fakers[locale] = faker
        self.used_emails: set[str] = set()
        self.used_phones: set[str] = set()
        self.companies: dict[str, list[Company]] = {}
        self.today = dt.date(2025, 1, 1)

    # -- values -----------------------------------------------------------------

    def phone(self, country: str, mobile: bool) -> str:
        """A new, valid E.164 number of the country (a mobile or a fixed line)."""
        kind = PhoneNumberType.MOBILE if mobile else PhoneNumberType.FIXED_LINE
        example = phonenumbers.example_number_for_type(country, kind)
        assert example is not None, country
        nsn = phonenumbers.national_significant_number(example)
        keep = min(3, len(nsn) // 3)
        for _ in range(200):
            prefix = self.rng.choice(US_AREA_CODES) if country == "US" else nsn[:keep]
            digits = prefix + "".join(
                str(self.rng.randint(0, 9)) for _ in range(len(nsn) - len(prefix))
            )
            parsed = phonenumbers.parse(f"+{example.country_code}{digits}")
            e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
            if (
                phonenumbers.is_valid_number(parsed)
                and phonenumbers.number_type(parsed) in (kind, PhoneNumberType.FIXED_LINE_OR_MOBILE)
                and e164 not in self.used_phones
            ):
                self.used_phones.add(e164)
                return e164
        raise RuntimeError(f"no valid {country} number found")

    def unique_email(self, local: str, domain: str) -> str:
        local = re.sub(r"[^a-z0-9._]+", "", local.lower()).strip(".") or "contact"
        local = re.sub(r"\.{2,}", ".", local)
        address = f"{local}@{domain}"
        while address in self.used_emails:
            address = f"{local}{self.rng.randint(1, 999)}@{domain}"
        self.used_emails.add(address)
        return address

    def personal_email(self, person: Person) -> str:
        given, family = _slug(person.latin_given), _slug(person.latin_family)
        pattern = self.rng.random()
        if pattern < 0.35:
            local = f"{given}.{family}"
        elif pattern < 0.55:
            local = f"{given}{family}"
        elif pattern < 0.7:
            local = f"{given}_{family}"
        elif pattern < 0.85:
            year = person.birthday.year if person.birthday else self.rng.randint(1950, 2004)
            local = f"{given[:1]}{family}{year % 100:02d}"
        else:
            local = f"{given}.{family}{self.rng.randint(1, 99)}"
        free = LOCALES[person.locale][2]
        # Gmail is the most common personal address everywhere.
        domain = "gmail.com" if self.rng.random() < 0.45 else self.rng.choice(free)
        return self.unique_email(local, domain)

    def corporate_email(self, person: Person, domain: str) -> str:
        given, family = _slug(person.latin_given), _slug(person.latin_family)
        pattern = self.rng.random()
        local = (
            f"{given}.{family}"
            if pattern < 0.6
            else f"{given[:1]}{family}"
            if pattern < 0.85
            else given
        )
        return self.unique_email(local, domain)

    def company(self, locale: str) -> Company:
        """A company of the locale: new ones at first, then more and more shared."""
        pool = self.companies.setdefault(locale, [])
        if pool and self.rng.random() < len(pool) / (len(pool) + 40):
            return self.rng.choice(pool)
        faker = self.fakers[locale]
        country = LOCALES[locale][0]
        taken = {c.domain for c in pool}
        for attempt in itertools.count():
            name = faker.company().replace("\n", " ")
            base = _slug(re.split(r"[ ,]", name)[0]) or _slug(name)
            if locale in ("ja_JP", "zh_CN"):
                base = _slug(faker.last_romanized_name()) + self.rng.choice(
                    ("tech", "corp", "trading", "group", "soft", "bank", "motors", "foods")
                )
            if attempt > 5:
                base += str(self.rng.randint(2, 99))
            domain = f"{base[:20]}.{LOCALES[locale][3]}"
            if base and domain not in taken:
                break
        company = Company(name[:150], domain, self.phone(country, mobile=False), country)
        pool.append(company)
        return company

    def birthday(self, low: int = 22, high: int = 70) -> dt.date:
        age_days = self.rng.randint(low * 365, high * 365)
        return self.today - dt.timedelta(days=age_days)

    def address(self, person: Person) -> None:
        faker = self.fakers[person.locale]
        person.street = " ".join(faker.street_address().replace("\n", ", ").split())
        person.city = faker.city()
        person.postcode = _canonical_postcode(person.country, faker.postcode())
        person.region = faker.state() if person.country in ("US", "BR") else ""

    def names(self, person: Person, female: bool) -> None:
        faker = self.fakers[person.locale]
        given = faker.first_name_female() if female else faker.first_name_male()
        family = faker.last_name()
        if person.locale in ("ja_JP", "zh_CN"):
            latin_given, latin_family = faker.first_romanized_name(), faker.last_romanized_name()
            if self.rng.random() < 0.75:
                # Most CRMs outside China and Japan hold these names in Latin script.
                given, family = latin_given, latin_family
            person.latin_given, person.latin_family = latin_given, latin_family
        else:
            compound = {"es_ES": 0.85, "pt_BR": 0.45}.get(person.locale, 0.04)
            if self.rng.random() < compound:
                other = faker.last_name()
                while other == family:
                    other = faker.last_name()
                joiner = " " if person.locale in ("es_ES", "pt_BR") else "-"
                family = f"{family}{joiner}{other}"
            person.latin_given, person.latin_family = given, family
        person.given, person.family = given, family
        if person.locale in ("en_US", "en_GB", "de_DE", "pt_BR") and self.rng.random() < 0.3:
            person.middle = faker.first_name_female() if female else faker.first_name_male()
        if person.locale == "en_US" and self.rng.random() < 0.03:
            person.suffix = self.rng.choice(("Jr.", "III", "II"))

    # -- people -----------------------------------------------------------------

    def person(self, person_id: str, locale: str) -> Person:
        country = LOCALES[locale][0]
        person = Person(person_id=person_id, locale=locale, country=country, given="", family="")
        self.names(person, female=self.rng.random() < 0.5)
        person.birthday = self.birthday() if self.rng.random() < 0.85 else None
        self.address(person)
        self.employ(person, self.company(locale))
        emails = self.rng.random()
        if emails < 0.45:
            person.emails = [("Home", self.personal_email(person))]
        elif emails < 0.75:
            person.emails = [("Work", self.corporate_email(person, person.domain))]
        else:
            person.emails = [
                ("Work", self.corporate_email(person, person.domain)),
                ("Home", self.personal_email(person)),
            ]
        person.phones = [("Mobile", self.phone(country, mobile=True))]
        if self.rng.random() < 0.35:
            person.phones.append(("Home", self.phone(country, mobile=False)))
        person.phone_style = self.rng.choice(("international", "international", "national"))
        return person

    def employ(self, person: Person, company: Company) -> None:
        person.organization, person.domain = company.name, company.domain
        person.title = self.fakers[person.locale].job()[:100]

    def landline(self, person: Person) -> str:
        """The person's home landline, given one if they had none."""
        for label, number in person.phones:
            if label == "Home":
                return number
        number = self.phone(person.country, mobile=False)
        person.phones.append(("Home", number))
        return number

    def household_member(self, anchor: Person, person_id: str) -> Person:
        member = self.person(person_id, anchor.locale)
        while member.given == anchor.given:
            self.names(member, female=self.rng.random() < 0.5)
        member.family, member.latin_family = anchor.family, anchor.latin_family
        member.street, member.city, member.region, member.postcode = (
            anchor.street,
            anchor.city,
            anchor.region,
            anchor.postcode,
        )
        landline = self.landline(anchor)
        member.phones = [("Mobile", member.phones[0][1]), ("Home", landline)]
        member.emails = [("Home", self.personal_email(member))]
        member.suffix = ""
        return member

    def parent_or_child(self, anchor: Person, person_id: str) -> Person:
        other = self.person(person_id, anchor.locale)
        other.given, other.family, other.middle = anchor.given, anchor.family, anchor.middle
        other.latin_given, other.latin_family = anchor.latin_given, anchor.latin_family
        other.street, other.city, other.region, other.postcode = (
            anchor.street,
            anchor.city,
            anchor.region,
            anchor.postcode,
        )
        gap = self.rng.randint(20 * 365, 40 * 365)
        anchor.birthday = anchor.birthday or self.birthday(45, 75)
        older = self.rng.random() < 0.5
        other.birthday = anchor.birthday - dt.timedelta(days=gap) if older else None
        if not older:
            born = anchor.birthday + dt.timedelta(days=gap)
            other.birthday = born if born < self.today - dt.timedelta(days=18 * 365) else None
        other.emails = [(label, self._rename_email(a, other)) for label, a in other.emails]
        if self.rng.random() < 0.3:
            other.phones = [("Mobile", other.phones[0][1]), ("Home", self.landline(anchor))]
        suffixes = {"en_US": ("Sr.", "Jr."), "en_GB": ("Sr.", "Jr."), "pt_BR": ("", "Filho")}
        if anchor.locale in suffixes and self.rng.random() < 0.6:
            senior, junior = suffixes[anchor.locale]
            anchor.suffix, other.suffix = (junior, senior) if older else (senior, junior)
        else:
            other.suffix = anchor.suffix
        return other

    def colleague(self, anchor: Person, person_id: str) -> Person:
        other = self.person(person_id, anchor.locale)
        company = next(
            c for pool in self.companies.values() for c in pool if c.domain == anchor.domain
        )
        self.employ(other, company)
        for person in (anchor, other):
            if company.switchboard not in (number for _, number in person.phones):
                person.phones = [*person.phones[:1], ("Work", company.switchboard)]
        other.emails = [("Work", self.corporate_email(other, company.domain))]
        return other

    def namesake(self, anchor: Person, person_id: str) -> Person:
        other = self.person(person_id, anchor.locale)
        other.given, other.family = anchor.given, anchor.family
        other.latin_given, other.latin_family = anchor.latin_given, anchor.latin_family
        other.emails = [
            (label, self._rename_email(address, other)) for label, address in other.emails
        ]
        return other

    def _rename_email(self, address: str, person: Person) -> str:
        domain = address.split("@", 1)[1]
        self.used_emails.discard(address)
        if domain in (person.domain,):
            return self.corporate_email(person, domain)
        return self.unique_email(
            f"{_slug(person.latin_given)}.{_slug(person.latin_family)}", domain
        )

    def people(self, count: int) -> list[Person]:
        """``count`` true people: ordinary ones first, then their look-alikes."""
        hard = {kind: round(count * share) for kind, share in HARD_NEGATIVES.items()}
        base_count = count - sum(hard.values())
        locales = list(LOCALES)
        weights = [LOCALES[locale][1] for locale in locales]
        people = [
            self.person(f"P{i:06d}", self.rng.choices(locales, weights)[0])
            for i in range(base_count)
        ]
        makers: dict[str, Callable[[Person, str], Person]] = {
            "household": self.household_member,
            "parent_child": self.parent_or_child,
            "colleague": self.colleague,
            "name_collision": self.namesake,
        }
        # Each anchor is used once, so look-alike relations stay pairs.
        anchors = self.rng.sample(people, sum(hard.values()))
        number = base_count
        for kind, how_many in hard.items():
            for _ in range(how_many):
                anchor = anchors.pop()
                other = makers[kind](anchor, f"P{number:06d}")
                other.kind, other.related = kind, anchor.person_id
                people.append(other)
                number += 1
        return people

    # -- records ----------------------------------------------------------------

    def record(self, person: Person) -> dict[str, str]:
        """The person's values as a Google Contacts row."""
        row = dict.fromkeys(HEADER, "")
        row |= {
            "First Name": person.given,
            "Middle Name": person.middle,
            "Last Name": person.family,
            "Name Suffix": person.suffix,
            "Organization Name": person.organization,
            "Organization Title": person.title,
            "Birthday": person.birthday.isoformat() if person.birthday else "",
            "Labels": "* myContacts",
            "Address 1 - Label": "Home" if person.street else "",
            "Address 1 - Street": person.street,
            "Address 1 - City": person.city,
            "Address 1 - Region": person.region,
            "Address 1 - Postal Code": person.postcode,
            "Address 1 - Country": person.country if person.street or person.city else "",
        }
        for i, (label, address) in enumerate(person.emails[:2], start=1):
            row[f"E-mail {i} - Label"] = ("* " if i == 1 else "") + label
            row[f"E-mail {i} - Value"] = address
        national_ok = bool(row["Address 1 - Country"])
        for i, (label, number) in enumerate(person.phones[:2], start=1):
            row[f"Phone {i} - Label"] = label
            style = person.phone_style
            if style != "international" and not national_ok:
                style = "international"
            row[f"Phone {i} - Value"] = format_phone(number, style, self.rng)
        return row

    def duplicate(self, person: Person) -> tuple[Person, list[str]]:
        """A corrupted copy of the person, and the corruptions it got."""
        copy = replace(person, emails=list(person.emails), phones=list(person.phones))
        applied: list[str] = []
        candidates = list(CORRUPTIONS)
        self.rng.shuffle(candidates)
        for name in candidates:
            rate = CORRUPTIONS[name]
            if name == "name_swap" and person.locale in ("ja_JP", "zh_CN"):
                rate = 0.30
            if self.rng.random() < rate and self.corrupt(copy, name):
                applied.append(name)
        while not applied:
            name = self.rng.choice(candidates)
            if self.corrupt(copy, name):
                applied.append(name)
        return copy, sorted(applied)

    def corrupt(self, p: Person, name: str) -> bool:  # noqa: C901 - one branch per corruption
        """Apply one corruption to ``p``; False when it does not apply to this person."""
        rng = self.rng
        if name == "name_typo":
            if rng.random() < 0.6 and len(p.given) > 2:
                p.given = typo(p.given, rng)
            elif len(p.family) > 2:
                p.family = typo(p.family, rng)
            else:
                return False
        elif name == "nickname":
            forms = NICKNAMES.get(p.given)
            if not forms:
                return False
            p.given = rng.choice(forms)
        elif name == "name_swap":
            p.given, p.family = p.family, p.given
        elif name == "initial":
            if not p.given:
                return False
            p.given = p.given[0] + ("." if rng.random() < 0.7 else "")
        elif name == "accents":
            full = p.given + p.family + p.middle
            if full.isascii() or not ascii_fold(full).isascii():
                return False
            way = (
                rng.choice((transliterate, ascii_fold))
                if any(ch in TRANSLITERATION for ch in full)
                else ascii_fold
            )
            p.given, p.family, p.middle = way(p.given), way(p.family), way(p.middle)
        elif name == "compound_surname":
            parts = re.split(r"[ -]", p.family)
            if len(parts) < 2:
                return False
            p.family = parts[0] if rng.random() < 0.8 else parts[-1]
        elif name == "email_case":
            if not p.emails:
                return False
            p.emails = [(label, _case_changed(address, rng)) for label, address in p.emails]
        elif name == "gmail_variant":
            gmail = [i for i, (_, a) in enumerate(p.emails) if a.endswith("@gmail.com")]
            if not gmail:
                return False
            label, address = p.emails[gmail[0]]
            p.emails[gmail[0]] = (label, _gmail_variant(address, rng))
        elif name == "email_other_domain":
            if not p.emails:
                return False
            label, address = p.emails[0]
            local, domain = address.split("@", 1)
            other = rng.choice(LOCALES[p.locale][2]) if domain == p.domain else p.domain
            p.emails = [("Work" if other == p.domain else "Home", f"{local}@{other}")]
        elif name == "new_job":
            company = self.company(p.locale)
            if company.domain == p.domain:
                return False
            old = p.domain
            self.employ(p, company)
            p.emails = [(lab, a) for lab, a in p.emails if not a.endswith("@" + old)]
            p.emails.insert(0, ("Work", self.corporate_email(p, company.domain)))
            p.phones = [(lab, n) for lab, n in p.phones if lab != "Work"]
        elif name == "title_changed":
            p.title = self.fakers[p.locale].job()[:100]
        elif name == "phone_format":
            styles = [s for s in PHONE_STYLES if s != p.phone_style]
            p.phone_style = rng.choice(styles)
        elif name == "phone_missing":
            if not p.phones:
                return False
            p.phones.pop(rng.randrange(len(p.phones)))
        elif name == "address_abbreviated":
            shorter = abbreviate_street(p.street, p.locale)
            if shorter == p.street:
                return False
            p.street = shorter
        elif name == "postcode_format":
            other = reformat_postcode(p.country, p.postcode, rng)
            if not p.postcode or other == p.postcode:
                return False
            p.postcode = other
        elif name == "moved":
            self.address(p)
        elif name == "field_missing":
            options = ["birthday", "address", "organization", "email", "middle"]
            missing = rng.choice(options)
            if missing == "birthday" and p.birthday:
                p.birthday = None
            elif missing == "address" and p.street:
                p.street = p.city = p.region = p.postcode = ""
            elif missing == "organization" and p.organization:
                p.organization = p.title = ""
            elif missing == "email" and p.emails:
                p.emails.pop(rng.randrange(len(p.emails)))
            elif missing == "middle" and p.middle:
                p.middle = ""
            else:
                return False
        else:
            raise ValueError(name)
        return True

    def dataset(self, count: int) -> Generated:
        """All records of ``count`` true people, shuffled, with their labels."""
        entries: list[tuple[dict[str, str], dict[str, str]]] = []
        for person in self.people(count):
            kind = "original" if person.kind == "original" else f"hard_negative:{person.kind}"
            label = {
                "person_id": person.person_id,
                "kind": kind,
                "corruptions": "",
                "related_person_id": person.related,
            }
            entries.append((self.record(person), label))
            if self.rng.random() < DUPLICATE_SHARE:
                copies = self.rng.choices(
                    [n for n, _ in DUPLICATES_PER_PERSON], [w for _, w in DUPLICATES_PER_PERSON]
                )[0]
                for _ in range(copies):
                    copy, applied = self.duplicate(person)
                    entries.append(
                        (
                            self.record(copy),
                            label | {"kind": "duplicate", "corruptions": ";".join(applied)},
                        )
                    )
        self.rng.shuffle(entries)
        rows, labels = [], []
        for number, (row, label) in enumerate(entries, start=1):
            record_id = f"R{number:07d}"
            rows.append(row | {RECORD_ID: record_id})
            labels.append({"record_id": record_id} | label)
        return Generated(rows, labels)


# ------------------------------------------------------------------------ corruptions

PHONE_STYLES = ("international", "national", "e164", "dashes", "compact", "extension")
_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def typo(text: str, rng: random.Random) -> str:
    """One keyboard slip: a letter inserted, deleted, transposed or substituted."""
    i = rng.randrange(1, len(text))  # the first letter is seldom mistyped
    how = rng.choice(("insert", "delete", "transpose", "substitute"))
    letter = rng.choice(_KEYBOARD)
    if how == "insert":
        return text[:i] + letter + text[i:]
    if how == "delete":
        return text[:i] + text[i + 1 :]
    if how == "transpose" and i < len(text) - 1:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    replacement = letter if letter != text[i].lower() else "e"
    return text[:i] + replacement + text[i + 1 :]


def transliterate(text: str) -> str:
    """German-style spelling without umlauts: Müller → Mueller, Strauß → Strauss."""
    return ascii_fold("".join(TRANSLITERATION.get(ch, ch) for ch in text))


def format_phone(e164: str, style: str, rng: random.Random) -> str:
    parsed = phonenumbers.parse(e164)
    if style == "national":
        return phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    if style == "e164":
        return e164
    international = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    if style == "dashes":
        return international.replace(" ", "-").replace("-", " ", 1)
    if style == "compact":
        return re.sub(r"[^\d+]", "", international)
    if style == "extension":
        separator = rng.choice((" ext. ", " x", " ext "))
        return f"{international}{separator}{rng.randint(10, 9999)}"
    return international


def abbreviate_street(street: str, locale: str) -> str:
    for pattern, short in STREET_ABBREVIATIONS.get(locale[:2], ()):
        street = re.sub(pattern, short, street)
    return street


def _canonical_postcode(country: str, postcode: str) -> str:
    """The postcode as the country writes it (Faker writes Dutch ones without the space)."""
    if country == "NL":
        compact = postcode.replace(" ", "")
        return f"{compact[:4]} {compact[4:]}"
    return postcode


def reformat_postcode(country: str, postcode: str, rng: random.Random) -> str:
    """The same postcode written another way people write it."""
    if country in ("GB", "NL"):
        return postcode.replace(" ", "") if rng.random() < 0.7 else postcode.lower()
    if country in ("PL", "BR", "JP"):
        return postcode.replace("-", "")
    if country in ("DE", "FR", "IT", "ES"):
        return f"{country[0] if country != 'ES' else 'E'}-{postcode}"
    if country == "US":
        return f"{postcode}-{rng.randint(1000, 9999)}"
    return postcode


def _case_changed(address: str, rng: random.Random) -> str:
    local, domain = address.split("@", 1)
    if rng.random() < 0.5:
        return address.upper()
    parts = re.split(r"([._])", local)
    return "".join(part.capitalize() for part in parts) + "@" + domain.capitalize()


def _gmail_variant(address: str, rng: random.Random) -> str:
    local, domain = address.split("@", 1)
    how = rng.random()
    if how < 0.4:
        return f"{local}+{rng.choice(('news', 'shop', 'work', 'crm', 'promo'))}@{domain}"
    if how < 0.7 and "." in local:
        return local.replace(".", "") + "@" + domain
    i = rng.randrange(1, max(2, len(local) - 1))
    return f"{local[:i]}.{local[i:]}".replace("..", ".") + "@" + domain


# ------------------------------------------------------------------------------ files


def generate(people: int, seed: int) -> Generated:
    """The benchmark data for ``people`` true people; the same for the same seed."""
    return Generator(seed).dataset(people)


def write(data: Generated, directory: Path) -> tuple[Path, Path]:
    """Write ``contacts.csv`` and ``labels.csv`` into ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    contacts, labels = directory / "contacts.csv", directory / "labels.csv"
    with contacts.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, [*HEADER, RECORD_ID])
        writer.writeheader()
        writer.writerows(data.rows)
    with labels.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, LABELS_HEADER)
        writer.writeheader()
        writer.writerows(data.labels)
    return contacts, labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("var/bench/dedupe"))
    args = parser.parse_args()
    contacts, labels = write(generate(args.people, args.seed), args.out)
    print(f"Wrote {contacts} and {labels}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
