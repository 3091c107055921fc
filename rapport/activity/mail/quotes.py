"""The new text of a reply apart from what it quotes and from the sender's signature.

Replies quote in many ways: Gmail's "On … wrote:", Outlook's "-----Original Message-----"
or a "From: … Sent: …" block under a line, "> " prefixes, and their German, French,
Spanish, Dutch (and a few more) translations. Signatures start at "-- ", at a mobile
footer ("Sent from my iPhone"), or after a sign-off ("Best regards,") followed by a few
short lines of name, title, company and numbers. ``signature_facts`` reads the phone,
title and company out of such a signature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WROTE = re.compile(
    r"^\s*(?:"
    r"on\b.{0,250}\bwrote\s*:"
    r"|am\b.{0,250}\bschrieb\b.{0,200}:"
    r"|le\b.{0,250}\ba\s+écrit\s*:"
    r"|el\b.{0,250}\bescribió\s*:"
    r"|op\b.{0,250}\bschreef\b.{0,200}:"
    r"|il\b.{0,250}\bha\s+scritto\s*:"
    r"|em\b.{0,250}\bescreveu\s*:"
    r"|den\b.{0,250}\bskrev\b.{0,200}:"
    r"|.{0,200}<[^>\s]+@[^>\s]+>\s+(?:wrote|schrieb|a écrit|escribió|schreef)\s*:"
    r")\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|originalnachricht|"
    r"message d'origine|mensaje original|oorspronkelijk bericht|messaggio originale|"
    r"mensagem original|forwarded message|weitergeleitete nachricht|message transféré|"
    r"mensaje reenviado|doorgestuurd bericht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FROM_LINE = re.compile(r"^\s*\*?(?:from|von|de|van|da|från|od)\s*\*?\s*:\s*\S", re.IGNORECASE)
_SENT_LINE = re.compile(
    r"^\s*\*?(?:sent|date|gesendet|datum|envoyé|date d'envoi|enviado(?: el)?|fecha|"
    r"verzonden|datum|inviato|data|skickat|wysłane)\s*\*?\s*:\s*\S",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_SIG_DELIMITER = re.compile(r"^(?:--|__)\s?$")
_MOBILE = re.compile(
    r"^\s*(?:sent from my (?:iphone|ipad|android|mobile|blackberry|samsung|galaxy|phone)\b.*"
    r"|sent from (?:mail|outlook) for .*|get outlook for (?:ios|android).*"
    r"|von meinem (?:iphone|ipad|smartphone|handy)\b.*gesendet.*"
    r"|envoyé de mon (?:iphone|ipad|smartphone)\b.*"
    r"|enviado desde mi (?:iphone|ipad|móvil|smartphone)\b.*"
    r"|verzonden vanaf mijn (?:iphone|ipad|smartphone)\b.*)$",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(?:(?:best|kind|warm|warmest|many|with)?\s*regards|best(?: wishes)?|cheers|thanks|"
    r"thank you|many thanks|sincerely|yours(?: sincerely| truly)?|all the best|take care|"
    r"mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|viele grüße|"
    r"beste grüße|liebe grüße|gruß|grüße|mfg|"
    r"cordialement|bien cordialement|bien à vous|salutations|amitiés|"
    r"saludos(?: cordiales)?|un saludo|atentamente|un abrazo|"
    r"met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?|groeten|groet|"
    r"cordiali saluti|saluti|atenciosamente|abraços|med vänliga hälsningar|"
    r"с уважением|с наилучшими пожеланиями|всего доброго|祝好|此致敬礼|敬具)"
    r"[\s,.!-]*$",
    re.IGNORECASE,
)
_MAX_SIGNATURE_LINES = 10


@dataclass
class Parts:
    body: str
    quoted: str
    signature: str


def _quote_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line) or _WROTE.match(line):
            return i
        # Gmail folds a long "On … wrote:" onto two lines
        if i + 1 < len(lines) and line.strip() and _WROTE.match(f"{line} {lines[i + 1]}"):
            return i
        if _FROM_LINE.match(line) and any(_SENT_LINE.match(n) for n in lines[i + 1 : i + 5]):
            return i - 1 if i and _RULE.match(lines[i - 1]) else i
        if _RULE.match(line) and i + 1 < len(lines) and _FROM_LINE.match(lines[i + 1]):
            return i
    return None


def _trailing_quote(lines: list[str]) -> int | None:
    """Where a final block of "> " lines (and blank lines) begins."""
    start = None
    for i in range(len(lines) - 1, -1, -1):
        text = lines[i].strip()
        if text.startswith(">"):
            start = i
        elif text and start is not None:
            break
        elif text:
            return None
    return start


def _signature_start(lines: list[str]) -> tuple[int, int] | None:
    """(first line of the signature, first line of the body that is not) or None."""
    for i, line in enumerate(lines):
        if _SIG_DELIMITER.match(line.rstrip("\r")):
            return i, i
    for i, line in enumerate(lines):
        if _MOBILE.match(line):
            return i, i
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        return None
    last = nonblank[-1]
    for i in range(last, max(-1, last - _MAX_SIGNATURE_LINES - 1), -1):
        if _SIGN_OFF.match(lines[i]):
            after = [line for line in lines[i + 1 : last + 1] if line.strip()]
            if after and all(len(line.strip()) <= 80 for line in after):
                return i + 1, i + 1
            return None
    return None


def split_reply(text: str) -> Parts:
    """``text`` as new text, quoted reply and signature (each stripped; "" when absent)."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    quoted: list[str] = []
    start = _quote_start(lines)
    if start is not None:
        quoted = lines[start:]
        lines = lines[:start]
    trailing = _trailing_quote(lines)
    if trailing is not None:
        quoted = lines[trailing:] + quoted
        lines = lines[:trailing]
    signature: list[str] = []
    found = _signature_start(lines)
    if found is not None:
        sig_from, body_to = found
        signature = lines[sig_from:]
        if signature and _SIG_DELIMITER.match(signature[0].rstrip()):
            signature = signature[1:]
        lines = lines[:body_to]
    body = "\n".join(lines).strip()
    if not body and signature and found is not None and not quoted:
        # a message that is nothing but a sign-off and a name: that is its text
        return Parts(text.strip(), "", "")
    return Parts(body, "\n".join(quoted).strip(), "\n".join(signature).strip())


# -- what a signature says about its writer -------------------------------------------

_PHONE_LABEL = re.compile(
    r"(?:^|\b)(?:tel|phone|telephone|mobile|mob|cell|direct|office|t|m|p|d|"
    r"tél|telefon|handy|móvil|movil|teléfono|telefono|mobiel|gsm|fon)\.?\s*[:.]?\s*"
    r"(\+?\(?\d[\d\s().\/-]{5,22}\d)",
    re.IGNORECASE,
)
_BARE_PHONE = re.compile(r"^\s*(\+\d[\d\s().\/-]{6,22}\d)\s*$")
_TITLE_WORDS = re.compile(
    r"\b(?:manager|director|head|chief|ceo|cto|cfo|coo|cmo|vp|vice president|president|"
    r"founder|co-founder|partner|owner|engineer|developer|architect|consultant|analyst|"
    r"specialist|officer|lead|coordinator|assistant|administrator|representative|"
    r"executive|advisor|adviser|counsel|attorney|accountant|designer|scientist|professor|"
    r"leiter|leiterin|geschäftsführer|geschäftsführerin|vertrieb|berater|beraterin|"
    r"ingenieur|directeur|directrice|responsable|gérant|chargé|chargée|ingénieur|"
    r"gerente|director|directora|jefe|jefa|responsable|ingeniero|"
    r"directeur|bedrijfsleider|adviseur|medewerker|eigenaar)\b",
    re.IGNORECASE,
)
_COMPANY_SUFFIX = re.compile(
    r"\b(?:inc|ltd|llc|llp|plc|gmbh|ag|kg|se|sa|s\.a|sas|sarl|s\.r\.l|srl|bv|b\.v|nv|n\.v|"
    r"oy|ab|as|a/s|corp|corporation|company|co|limited|group|gbr|ug)\b\.?",
    re.IGNORECASE,
)
_TITLE_AND_COMPANY = re.compile(
    r"^(.{2,80}?)\s*(?:\||,|·|•| at | bei | chez | en | - )\s*(.{2,80})$"
)


@dataclass
class SignatureFacts:
    phone: str = ""
    title: str = ""
    company: str = ""


def signature_facts(signature: str, *, sender_name: str = "") -> SignatureFacts:
    """The phone number, job title and company a signature names, when it clearly does."""
    facts = SignatureFacts()
    lines = [line.strip(" \t*_|") for line in signature.splitlines()]
    lines = [line for line in lines if line and len(line) <= 100]
    for line in lines:
        match = _PHONE_LABEL.search(line) or _BARE_PHONE.match(line)
        if match and not facts.phone:
            facts.phone = " ".join(match.group(1).split())
    name_words = {w.lower() for w in sender_name.split() if len(w) > 1}
    for line in lines[:6]:
        if "@" in line or "http" in line.lower() or any(ch.isdigit() for ch in line[:3]):
            continue
        words = {w.lower().strip(",.") for w in line.split()}
        if name_words and words and words <= name_words:
            continue  # the name line
        if not facts.title and _TITLE_WORDS.search(line):
            pair = _TITLE_AND_COMPANY.match(line)
            if (
                pair
                and _TITLE_WORDS.search(pair.group(1))
                and not _TITLE_WORDS.search(pair.group(2))
            ):
                facts.title = pair.group(1).strip()[:200]
                if not facts.company:
                    facts.company = pair.group(2).strip()[:200]
            else:
                facts.title = line[:200]
            continue
        if not facts.company and _COMPANY_SUFFIX.search(line) and len(line.split()) <= 6:
            facts.company = line[:200]
    return facts
