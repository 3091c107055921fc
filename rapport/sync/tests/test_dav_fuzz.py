"""Cards with odd, broken and huge values: each is saved or refused, never a 500."""

import pytest

from rapport.sync.tests.test_dav_hardening import D

pytestmark = pytest.mark.django_db

H = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A B\r\nN:B;A;;;\r\nUID:u-{n}\r\n"
BODIES = [
    H + 'TEL;TYPE="unterminated:123\r\nEND:VCARD\r\n',
    H + "TEL:+1 555 0100\r\nTEL:notanumber\r\nTEL:+1 555 0101;ext\r\nEND:VCARD\r\n",
    H + "BDAY:--0415\r\nEND:VCARD\r\n",
    H + "BDAY:99999-01-01\r\nEND:VCARD\r\n",
    H + "BDAY:0000-00-00\r\nEND:VCARD\r\n",
    H + "ADR:;;;;;;\r\nEND:VCARD\r\n",
    H + "ADR;TYPE=home:;;" + "x" * 3000 + ";Paris;;75001;Atlantis\r\nEND:VCARD\r\n",
    H + "EMAIL:not-an-email\r\nEND:VCARD\r\n",
    H + "URL:javascript:alert(1)\r\nURL:http://\r\nEND:VCARD\r\n",
    H + "PHOTO;ENCODING=b;TYPE=JPEG:!!!!\r\nEND:VCARD\r\n",
    H + "PHOTO;VALUE=uri:http://example.com/x.jpg\r\nEND:VCARD\r\n",
    H
    + "PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\r\nEND:VCARD\r\n",
    H + "ORG:" + "O" * 5000 + "\r\nEND:VCARD\r\n",
    H + "TITLE:" + "T" * 5000 + "\r\nEND:VCARD\r\n",
    H + "NICKNAME:" + "n" * 5000 + "\r\nEND:VCARD\r\n",
    H + "NOTE:" + "n" * 500000 + "\r\nEND:VCARD\r\n",
    H + "CATEGORIES:" + ",".join(f"c{i}" for i in range(5000)) + "\r\nEND:VCARD\r\n",
    H + "X-RAPPORT-CUSTOM:foo=bar\r\nEND:VCARD\r\n",
    H + "X-RAPPORT-OWNER:nobody\r\nX-RAPPORT-LIFECYCLE-STAGE:bogus\r\nEND:VCARD\r\n",
    H + "X-RAPPORT-EXTERNAL-ID:" + "e" * 1000 + "\r\nEND:VCARD\r\n",
    H + "LANG:zz-invalid-language-tag-xxxxx\r\nTZ:Mars/Olympus\r\nEND:VCARD\r\n",
    H + "item1.TEL:+15550100\r\nitem1.X-ABLabel:foo\r\nitem1.TEL:+15550101\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN;ENCODING=QUOTED-PRINTABLE;CHARSET=bogus-charset:=C3=A9;A\r\nFN:A\r\nUID:u-{n}\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN;ENCODING=QUOTED-PRINTABLE:=ZZ=\r\n=\r\nFN:A\r\nUID:u-{n}\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nUID:u-{n}\r\nBDAY:--04\r\nANNIVERSARY:19990101\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:\r\nUID:u-{n}\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:3.0\r\n N:folded-first-line\r\nFN:A\r\nUID:u-{n}\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nUID:" + "u" * 300 + "{n}\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:3.0\r\n:novalue\r\nFN:A\r\nUID:u-{n}\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN;=x:A\r\nUID:u-{n}\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nUID:u-{n}\r\nTEL;TYPE="
    + "a," * 20000
    + ":+15550100\r\nEND:VCARD\r\n",
]


@pytest.mark.parametrize("i", range(len(BODIES)))
def test_put_body(alice, i):
    d = D(alice)
    body = BODIES[i].replace("{n}", str(i)).encode()
    r = d.req("PUT", f"/dav/addressbooks/alice/contacts/f{i}.vcf", body, content_type="text/vcard")
    assert r.status_code < 500
    # and a second PUT (update, merge path) of the same body
    r2 = d.req("PUT", f"/dav/addressbooks/alice/contacts/f{i}.vcf", body, content_type="text/vcard")
    assert r2.status_code < 500
